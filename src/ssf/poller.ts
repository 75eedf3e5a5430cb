import { setTimeout as sleep } from 'node:timers/promises'
import { isJsonObject, requestJson } from './http.js'
import type { OutboundAuthorization } from './outbound-auth.js'
import type { Lease } from './lease.js'
import type { SetReceiver } from './receiver.js'
import { setErrorBody } from './set-errors.js'
import type { TransmitterKeyring } from './set-verifier.js'

const MIN_BACKOFF_MS = 1000
const MAX_BACKOFF_MS = 60_000
// With returnImmediately (wait_s 0) an empty answer is followed by this pause, not by a tight loop.
const IDLE_MS = 5000
const MAX_SETS_PER_ANSWER = 1000

export type PollResult = 'ok' | 'error'

export interface PollerReport {
  poll: (transmitter: string, result: PollResult) => void
  leader: (transmitter: string, held: boolean) => void
}

interface Logger { warn: (obj: object, msg: string) => void, info: (obj: object, msg: string) => void }

export interface PollerOptions {
  readonly keyring: TransmitterKeyring
  /** The poll endpoint (configured, or the managed stream's); null: not known yet, nothing polled. */
  readonly endpoint: () => Readonly<URL> | null
  readonly auth: OutboundAuthorization
  readonly lease: Lease
  readonly receiver: SetReceiver
  readonly timeoutMs: number
  /** How often the lease is taken or renewed (its lifetime is three times this). */
  readonly renewMs: number
  readonly report: PollerReport
  readonly log: Logger
}

/**
 * RFC 8936 for one transmitter, on the one replica holding its lease: each request acknowledges
 * (`ack`) the SETs of the previous answer that were stored, returns `setErrs` for those refused,
 * and asks for up to `maxEvents` more, held by the transmitter up to wait_s (`returnImmediately`
 * false) or answered at once. A SET that could not be stored (Redis down) is neither
 * acknowledged nor refused: the transmitter delivers it again. Errors back off from 1 s to 60 s.
 */
export class Poller {
  readonly #o: PollerOptions
  readonly #abort = new AbortController()
  #ack: string[] = []
  #setErrs: Record<string, { err: string, description: string }> = {}
  #leader = false
  #running: Promise<void> | null = null
  #renewTimer: NodeJS.Timeout | null = null

  constructor (options: PollerOptions) {
    this.#o = options
  }

  get leader (): boolean {
    return this.#leader
  }

  start (): void {
    const renew = async (): Promise<void> => {
      const held = await this.#o.lease.hold()
      if (held !== this.#leader) {
        this.#o.log.info({ transmitter: this.#o.keyring.config.issuer, held }, held ? 'SSF poller: this replica polls the transmitter' : 'SSF poller: another replica polls the transmitter')
        this.#o.report.leader(this.#o.keyring.config.issuer, held)
      }
      this.#leader = held
    }
    this.#renewTimer = setInterval(() => { renew().catch(() => {}) }, this.#o.renewMs)
    this.#renewTimer.unref()
    this.#running = renew().then(async () => await this.#loop()).catch(() => {})
  }

  async close (): Promise<void> {
    if (this.#renewTimer !== null) clearInterval(this.#renewTimer)
    this.#abort.abort()
    await this.#running
    this.#leader = false
    await this.#o.lease.close()
  }

  async #loop (): Promise<void> {
    const signal = this.#abort.signal
    let backoffMs = MIN_BACKOFF_MS
    while (!signal.aborted) {
      const endpoint = this.#o.endpoint()
      if (!this.#leader || endpoint === null) {
        await sleep(this.#o.renewMs, undefined, { signal }).catch(() => {})
        continue
      }
      try {
        const more = await this.#pollOnce(endpoint, signal)
        this.#o.report.poll(this.#o.keyring.config.issuer, 'ok')
        backoffMs = MIN_BACKOFF_MS
        if (!more && this.#o.keyring.config.poll?.waitS === 0) await sleep(IDLE_MS, undefined, { signal }).catch(() => {})
      } catch (err) {
        if (signal.aborted) break
        this.#o.report.poll(this.#o.keyring.config.issuer, 'error')
        this.#o.log.warn({ transmitter: this.#o.keyring.config.issuer, err: (err as Error).message, retryInMs: backoffMs }, 'SSF poll failed')
        await sleep(backoffMs, undefined, { signal }).catch(() => {})
        backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS)
      }
    }
  }

  /** One request; true when the transmitter says more SETs are waiting. */
  async #pollOnce (endpoint: Readonly<URL>, signal: AbortSignal): Promise<boolean> {
    const poll = this.#o.keyring.config.poll
    const waitS = poll?.waitS ?? 0
    const authorization = await this.#o.auth.header()
    const { status, body } = await requestJson(endpoint, {
      method: 'POST',
      headers: authorization === null ? {} : { authorization },
      body: { ack: this.#ack, setErrs: this.#setErrs, maxEvents: poll?.maxEvents ?? 100, returnImmediately: waitS === 0 },
      timeoutMs: waitS * 1000 + this.#o.timeoutMs,
      signal
    })
    if (status === 401) this.#o.auth.forget()
    if (status !== 200) throw new Error(`the poll endpoint answered ${status}`)
    // Delivered: the transmitter has them now (RFC 8936 §2.4.2).
    this.#ack = []
    this.#setErrs = {}
    if (!isJsonObject(body) || !isJsonObject(body.sets)) throw new Error('the poll answer has no sets object')
    const sets = Object.entries(body.sets).slice(0, MAX_SETS_PER_ANSWER)
    for (const [jti, token] of sets) {
      if (typeof token !== 'string') {
        this.#setErrs[jti] = { err: 'invalid_request', description: 'not a SET' }
        continue
      }
      const outcome = await this.#o.receiver.receive(token, 'poll', this.#o.keyring)
      if (outcome.result === 'refused') this.#setErrs[jti] = setErrorBody(outcome.failure)
      else if (outcome.result !== 'unavailable') this.#ack.push(jti)
    }
    return body.moreAvailable === true || (this.#ack.length + Object.keys(this.#setErrs).length > 0)
  }
}
