import { setTimeout as sleep } from 'node:timers/promises'
import { loadIndex } from './index-loader.js'
import { loadPending } from './pending-entries.js'
import { compareIds, decodeEntry, idBefore } from './log-entry.js'
import { within } from '../../async/within.js'
import type { RedisClient } from '../../redis/redis-client.js'
import type { RedisKeys } from './redis-keys.js'
import type { LogListener, ReloadReason } from '../store.js'
import { UnknownFormatError } from './format-version.js'

interface Logger { warn: (obj: object, msg: string) => void, info: (obj: object, msg: string) => void, error?: (obj: object, msg: string) => void }

/** Entries per XREAD: a full answer says nothing about currency, the next read follows at once. */
const READ_COUNT = 10_000
/** Past BLOCK plus this, a read that has not answered is a dead path (no RST, no FIN): reconnect. */
const WATCHDOG_SLACK_MS = 750
/**
 * After a full load the log is replayed from this long before its last id:
 * in a Cluster a write appends its entry before its index record, so one in
 * flight during the load comes from the log (and one rolling forward for
 * longer, from the log's pending entries: pending-entries.ts). Far past a
 * write's budget (2 s); tests shorten it (RedisStoreOptions.reloadOverlapMs).
 */
export const RELOAD_OVERLAP_MS = 5000
const MAX_BACKOFF_MS = 250
const DEAD = Symbol('dead path')

interface StreamHead { readonly lastId: string, readonly firstId: string | null, readonly trimmed: boolean }

/**
 * Keeps one replica's state current from the revocation log: a full load from
 * the load index, then a blocking XREAD loop from the last id on a dedicated
 * connection. Every answer of that loop, an empty one after BLOCK included,
 * proves the replica current as of when the read was sent. After a
 * reconnect, and whenever a read comes back empty, it checks the log's head:
 * it resumes from its position unless the log no longer reaches
 * back to it (trimmed) or the primary is behind it (a failover lost entries):
 * then it loads the full state again.
 */
export class LogFollower {
  readonly #client: RedisClient
  readonly #keys: RedisKeys
  readonly #listener: LogListener
  readonly #log: Logger
  readonly #blockMs: number
  readonly #retentionS: number
  readonly #overlapMs: number
  /** Where the next XREAD starts. */
  #position = '0-0'
  /** The id up to which the state is known complete; null until the first load. */
  #through: string | null = null
  #verify = false
  /** The first read after a full load does not block: its answer, empty or not, makes the state current at once. */
  #readNow = false
  #closed = false

  constructor (client: RedisClient, keys: RedisKeys, listener: LogListener, log: Logger, blockMs: number, retentionS: number, overlapMs = RELOAD_OVERLAP_MS) {
    this.#retentionS = retentionS
    this.#overlapMs = overlapMs
    this.#client = client
    this.#keys = keys
    this.#listener = listener
    this.#log = log
    this.#blockMs = blockMs
  }

  start (): void {
    this.#client.on('close', () => { this.#verify = true })
    this.#run().catch((err: Error) => this.#log.warn({ err: err.message }, 'revocation log follower stopped'))
  }

  close (): void {
    this.#closed = true
  }

  async #run (): Promise<void> {
    // Before the connection is ready every command fails at once (no offline queue): reading then
    // logged "unreadable" at every start. A Redis down at start is logged by the connection.
    if (this.#client.status !== 'ready') await new Promise((resolve) => this.#client.once('ready', resolve))
    let failures = 0
    while (!this.#closed) {
      try {
        if (this.#through === null) await this.#reload('start')
        else if (this.#verify) await this.#checkPosition()
        await this.#read()
        if (failures > 0) this.#log.info({ failures }, 'revocation log readable again')
        failures = 0
      } catch (err) {
        if (this.#closed) return
        if (err instanceof UnknownFormatError) {
          this.#stop(err)
          return
        }
        if (failures === 0) this.#log.warn({ err: (err as Error).message }, 'revocation log unreadable; deciding within MAX_STALENESS_MS, then by lookup or FAIL_MODE')
        failures++
        this.#verify = true
        await sleep(Math.min(25 * 2 ** failures, MAX_BACKOFF_MS))
      }
    }
  }

  // Skipping what it cannot read could skip a revocation: the replica stops and says why.
  #stop (err: UnknownFormatError): void {
    this.#closed = true
    const fields = { version: err.version, err: err.message }
    if (this.#log.error !== undefined) this.#log.error(fields, 'revocation log written in a newer format: this replica stops following it and is not ready; upgrade it (docs/scaling.md)')
    else this.#log.warn(fields, 'revocation log written in a newer format: this replica stops following it and is not ready; upgrade it (docs/scaling.md)')
    this.#listener.onStop?.(err.message)
  }

  async #read (): Promise<void> {
    const sentAt = performance.now()
    const blockMs = this.#readNow ? 0 : this.#blockMs
    this.#readNow = false
    const reply = await this.#watch(blockMs === 0
      ? this.#client.xread('COUNT', READ_COUNT, 'STREAMS', this.#keys.log, this.#position)
      : this.#client.xread('COUNT', READ_COUNT, 'BLOCK', blockMs, 'STREAMS', this.#keys.log, this.#position))
    let read = 0
    for (const [, entries] of reply ?? []) {
      for (const [id, fields] of entries) {
        const event = decodeEntry(fields)
        if (event !== null) this.#listener.onEvent(event)
        this.#position = id
        if (this.#through === null || compareIds(id, this.#through) > 0) this.#through = id
        read++
      }
    }
    if (read >= READ_COUNT) return
    // When idle, check the head (one XINFO per BLOCK): a trim or a failover that cost no reconnect shows too.
    if (read === 0) this.#verify = true
    const elapsed = performance.now() - sentAt
    // An empty answer came BLOCK ms after Redis took the read, with nothing written meanwhile:
    // it proves the state current as of BLOCK ms after sending, not just as of sending.
    this.#listener.onCurrent(read === 0 ? Math.max(0, elapsed - blockMs) : elapsed)
  }

  async #checkPosition (): Promise<void> {
    const head = await this.#watch(this.#head())
    const through = this.#through ?? '0-0'
    if (compareIds(through, head.lastId) > 0) {
      await this.#reload('ahead')
    } else if (head.trimmed && compareIds(head.lastId, through) > 0 && (head.firstId === null || compareIds(head.firstId, through) > 0)) {
      // Entries were added after our position and the oldest one left is newer than it: some may be gone.
      await this.#reload('trimmed')
    }
    this.#verify = false
  }

  async #reload (reason: ReloadReason): Promise<void> {
    const started = performance.now()
    const head = await this.#watch(this.#head())
    const pending = await loadPending(this.#client, this.#keys.log, this.#listener, async (p) => await this.#watch(p))
    const marks = pending + await loadIndex(this.#client, this.#keys, this.#retentionS, this.#listener, async (p) => await this.#watch(p))
    this.#position = idBefore(head.lastId, this.#overlapMs)
    this.#through = head.lastId
    this.#verify = false
    this.#readNow = true
    this.#listener.onReload?.(reason, marks)
    this.#log.info({ reason, marks, ms: Math.round(performance.now() - started) }, 'revocation state loaded from the load index')
  }

  async #head (): Promise<StreamHead> {
    let reply: unknown[]
    try {
      reply = await this.#client.xinfo('STREAM', this.#keys.log) as unknown[]
    } catch (err) {
      if (/no such key/i.test((err as Error).message)) return { lastId: '0-0', firstId: null, trimmed: false }
      throw err
    }
    const info = new Map<string, unknown>()
    for (let i = 0; i + 1 < reply.length; i += 2) info.set(String(reply[i]), reply[i + 1])
    const first = info.get('first-entry') as [string, unknown] | null | undefined
    return {
      lastId: String(info.get('last-generated-id') ?? '0-0'),
      firstId: first?.[0] ?? null,
      trimmed: Number(info.get('entries-added') ?? 0) > Number(info.get('length') ?? 0)
    }
  }

  async #watch<T> (command: Promise<T>): Promise<T> {
    const answer = await within(command.then((value) => ({ value }), (err: unknown) => ({ err })), this.#blockMs + WATCHDOG_SLACK_MS, DEAD)
    if (answer === DEAD) {
      this.#client.disconnect(true)
      throw new Error('revocation log read did not answer')
    }
    if ('err' in answer) throw answer.err
    return answer.value
  }
}
