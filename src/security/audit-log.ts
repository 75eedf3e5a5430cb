import { closeSync, createWriteStream, fstatSync, openSync, readSync, type WriteStream } from 'node:fs'
import { GENESIS, seal, type AuditFields, type AuditRecord } from './audit-chain.js'

const TAIL_BYTES = 64 * 1024

/** The hash of the file's last record, so a restart continues the chain; GENESIS for a new file. */
export function lastHashOf (path: string): string {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return GENESIS
    throw err
  }
  try {
    const size = fstatSync(fd).size
    const length = Math.min(size, TAIL_BYTES)
    const buffer = Buffer.alloc(length)
    readSync(fd, buffer, 0, length, size - length)
    const lines = buffer.toString('utf8').split('\n').filter((line) => line.trim() !== '')
    const last = lines.at(-1)
    if (last === undefined) return GENESIS
    const hash = (JSON.parse(last) as Partial<AuditRecord>).hash
    if (typeof hash !== 'string') throw new Error('its last line is not an audit record')
    return hash
  } finally {
    closeSync(fd)
  }
}

export interface AuditLogger {
  info: (obj: object, msg: string) => void
  child?: (bindings: object, options: { level: string }) => AuditLogger
}

/** Where audit records go: sealed onto a chain here, or handed to the process that owns the chain. */
export interface AuditTrail {
  append: (fields: AuditFields) => void
  close: () => Promise<void>
  /** Reopens the file at its path (after logrotate renamed it); absent where no file is owned. */
  reopen?: () => void
}

/**
 * Append-only, hash-chained JSON lines in AUDIT_LOG_FILE. Without a file the
 * records go to stdout inside the gateway's log lines (`"audit": {...}`), and
 * each process run starts a new chain. Records are sealed in call order and
 * written through one stream, so the file order is the chain order.
 */
export class AuditLog implements AuditTrail {
  readonly #path: string | null
  #file: WriteStream | null
  /** The file being closed by reopen(), until its last records are on disk. */
  #previous: Promise<void> = Promise.resolve()
  readonly #log: AuditLogger
  #prev: string

  constructor (path: string | null, log: AuditLogger) {
    // Audit records are written whatever LOG_LEVEL says.
    this.#log = log.child?.({ component: 'audit' }, { level: 'info' }) ?? log
    this.#path = path
    if (path === null) {
      this.#file = null
      this.#prev = GENESIS
    } else {
      this.#prev = lastHashOf(path)
      this.#file = createWriteStream(path, { flags: 'a', mode: 0o600 })
    }
  }

  append (fields: AuditFields): AuditRecord {
    const record = seal(fields, this.#prev)
    this.#prev = record.hash
    if (this.#file === null) this.#log.info({ audit: record }, 'audit')
    else this.#file.write(JSON.stringify(record) + '\n')
    return record
  }

  /**
   * logrotate (without copytruncate) renames the file, then signals: records from now on go to
   * a new file at the configured path, and the chain goes on across both (the new file's first
   * record names the old file's last). The new file is written only once the old one has
   * flushed, so reopening the same file (no rename) keeps the records in chain order too.
   */
  reopen (): void {
    const old = this.#file
    if (old === null || this.#path === null) return
    const next = createWriteStream(this.#path, { flags: 'a', mode: 0o600 })
    next.cork()
    this.#file = next
    const flushed = this.#previous.then(async () => { await new Promise<void>((resolve) => old.end(resolve)) })
    this.#previous = flushed.then(() => { next.uncork() })
  }

  async close (): Promise<void> {
    const file = this.#file
    if (file === null) return
    await this.#previous
    await new Promise<void>((resolve) => file.end(resolve))
  }
}
