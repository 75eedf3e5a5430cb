import { createHash } from 'node:crypto'

/** The chain's anchor: the `prev` of the first record of a log. */
export const GENESIS = '0'.repeat(64)

/**
 * One audit line. Field order is fixed: the hash is taken over this JSON without `hash`.
 * `iss` (the issuer of `user_id` and `jti`, null when the record names none) is in every
 * record written since several issuers are trusted; a record written before has none, and
 * verifies as it was sealed.
 */
export interface AuditRecord {
  readonly timestamp: string
  readonly event_type: string
  readonly user_id: string | null
  readonly iss?: string | null
  readonly jti: string | null
  /** The session a revocation pushed by an identity provider names, cut like a jti; only in those records. */
  readonly sid?: string | null
  readonly reason: string | null
  readonly ip: string | null
  readonly actor: string | null
  readonly request_id: string | null
  readonly prev: string
  readonly hash: string
}

export type AuditFields = Omit<AuditRecord, 'prev' | 'hash'>

function digest (content: Omit<AuditRecord, 'hash'>): string {
  return createHash('sha256').update(JSON.stringify(content)).digest('hex')
}

/** Seals fields onto the chain after `prev`. */
export function seal (fields: AuditFields, prev: string): AuditRecord {
  const content = {
    timestamp: fields.timestamp,
    event_type: fields.event_type,
    user_id: fields.user_id,
    ...(fields.iss !== undefined && { iss: fields.iss }),
    jti: fields.jti,
    ...(fields.sid !== undefined && { sid: fields.sid }),
    reason: fields.reason,
    ip: fields.ip,
    actor: fields.actor,
    request_id: fields.request_id,
    prev
  }
  return { ...content, hash: digest(content) }
}

export type VerifyOutcome =
  /** `first`: the prev of the first record (null without records); `last`: the hash a next record must name (null: any, no record seen after a null start). */
  | { readonly ok: true, readonly records: number, readonly first: string | null, readonly last: string | null }
  /** `start`: the first record does not follow `start` (in a rotated set: a file missing or out of order). */
  | { readonly ok: false, readonly line: number, readonly problem: string, readonly start?: true }

type Parsed = { kind: 'record', record: AuditRecord, fromLog: boolean } | { kind: 'skip' } | { kind: 'bad', problem: string }

function parseLine (line: string): Parsed {
  if (line.trim() === '') return { kind: 'skip' }
  let value: Record<string, unknown>
  try {
    value = JSON.parse(line)
  } catch {
    return { kind: 'bad', problem: 'not a JSON record' }
  }
  if (typeof value !== 'object' || value === null) return { kind: 'bad', problem: 'not a JSON record' }
  // Without AUDIT_LOG_FILE records ride inside the gateway's log lines; other log lines are skipped.
  const fromLog = typeof value.audit === 'object' && value.audit !== null
  const record = (fromLog ? value.audit : value) as AuditRecord
  if (!fromLog && typeof value.level === 'number' && typeof value.msg === 'string') return { kind: 'skip' }
  if (typeof record.hash !== 'string' || typeof record.prev !== 'string') return { kind: 'bad', problem: 'not an audit record (no hash/prev)' }
  return { kind: 'record', record, fromLog }
}

/**
 * Checks every line: it must parse, its hash must match its content (else it
 * was edited), and its prev must be the hash of the line before (else a
 * record was removed, inserted or moved). The first record must follow
 * `start`: GENESIS for a whole log, the last hash of the file before for a
 * rotated one, null to accept any (the files before it are gone). Blank lines
 * are ignored; in a gateway log (stdout mode) other log lines are skipped and
 * each process run may start a new chain.
 */
export function verifyLines (lines: Iterable<string>, start: string | null = GENESIS): VerifyOutcome {
  let expected = start
  let first: string | null = null
  let records = 0
  let number = 0
  for (const line of lines) {
    number++
    const parsed = parseLine(line)
    if (parsed.kind === 'skip') continue
    if (parsed.kind === 'bad') return { ok: false, line: number, problem: parsed.problem }
    const record = parsed.record
    if (parsed.fromLog && record.prev === GENESIS) expected = GENESIS
    // Re-sealing must give back exactly this record: a changed, added or removed field shows.
    if (JSON.stringify(seal(record, record.prev)) !== JSON.stringify(record)) {
      return { ok: false, line: number, problem: 'record was edited (its hash does not match its content)' }
    }
    if (expected !== null && record.prev !== expected) {
      return records === 0
        ? { ok: false, line: number, start: true, problem: start === GENESIS ? 'the log does not start at the chain\'s beginning (records removed?)' : 'its first record does not follow the last record before it' }
        : { ok: false, line: number, problem: 'chain broken: its prev is not the hash of the record before it (a record was removed, inserted, reordered, or the one before was rewritten with a new hash)' }
    }
    if (records === 0) first = record.prev
    expected = record.hash
    records++
  }
  return { ok: true, records, first, last: expected }
}
