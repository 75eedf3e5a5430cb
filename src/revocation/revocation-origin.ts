import { createHash } from 'node:crypto'

/**
 * When a revocation was made and, for a user's own (logout, revoking their
 * token), from which client address: what tells a client retrying once after
 * its own logout from a revoked token used elsewhere or later (the
 * `revoked_token_use` alert, docs/operations.md "Alerts"). `address` is a
 * digest, never the address; null when only the time says something (an
 * identity provider's revocation: its address is not the client's).
 */
export interface RevocationOrigin {
  /** Milliseconds since the epoch. */
  readonly at: number
  readonly address: string | null
}

/**
 * The client address as the revocation log carries it: 96 bits of SHA-256,
 * compared for equality only. Pseudonymous, not anonymous (an IPv4 address
 * can be found by trying them all), so it stays within the log's retention.
 */
export function addressDigest (ip: string): string {
  return createHash('sha256').update('tokengate-address\0').update(ip).digest('base64url').slice(0, 16)
}

/** The log entry's `o` field: "<at>" or "<at> <address digest>". */
export function encodeOrigin (origin: RevocationOrigin | undefined): string {
  if (origin === undefined) return ''
  return origin.address === null ? String(origin.at) : `${origin.at} ${origin.address}`
}

/** Undefined for a field that is absent or unreadable: an origin is advice, never a reason to drop the revocation. */
export function decodeOrigin (field: string): RevocationOrigin | undefined {
  const [at, address, ...rest] = field.split(' ')
  const ms = Number(at)
  // Only the spelling encodeOrigin writes ("+0", "1e3", "0x10" and "00" are numbers to Number()).
  if (String(ms) !== at || !Number.isSafeInteger(ms) || ms < 0 || rest.length > 0) return undefined
  if (address === undefined) return { at: ms, address: null }
  return /^[A-Za-z0-9_-]{16}$/.test(address) ? { at: ms, address } : undefined
}
