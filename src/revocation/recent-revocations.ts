import type { RevocationOrigin } from './revocation-origin.js'
import type { LookupQuery, MarkKind, RevocationEvent } from './store.js'

/** What a token is looked up by: its issuer and the ids its marks are kept under. */
export type RevokedToken = Pick<LookupQuery, 'iss' | 'jti' | 'sid' | 'sub'>

/** Enough for every logout in the window on a busy gateway; the oldest go first. */
const MAX_ENTRIES = 10_000

/**
 * The origins of the revocations of the last `windowMs`, from every replica
 * (they arrive with the log): bounded, keyed like the marks. Only the recent
 * past matters here (a retry comes shortly after its logout), so nothing of
 * it is in the load index: after a full load, earlier origins are unknown,
 * and an unknown origin alerts as loudly as before.
 */
export class RecentRevocations {
  readonly #windowMs: number
  readonly #now: () => number
  readonly #origins = new Map<string, RevocationOrigin>()

  constructor (windowMs: number, now: () => number) {
    this.#windowMs = windowMs
    this.#now = now
  }

  add (event: RevocationEvent): void {
    const { origin } = event
    if (origin === undefined || this.#windowMs <= 0) return
    const key = keyOf(event.kind, event.issuer, event.kind === 'global' ? '' : event.id)
    this.#origins.delete(key)
    this.#origins.set(key, origin)
    this.#trim()
  }

  /**
   * The latest origin within the window of a revocation of this token (its jti,
   * session, user or issuer), or undefined.
   */
  of (token: RevokedToken): RevocationOrigin | undefined {
    if (this.#origins.size === 0) return undefined
    let latest: RevocationOrigin | undefined
    for (const key of [keyOf('jti', token.iss, token.jti), keyOf('session', token.iss, token.sid), keyOf('user', token.iss, token.sub), keyOf('global', token.iss, '')]) {
      const origin = this.#origins.get(key)
      if (origin !== undefined && (latest === undefined || origin.at > latest.at)) latest = origin
    }
    return latest !== undefined && this.#now() - latest.at <= this.#windowMs ? latest : undefined
  }

  get size (): number {
    return this.#origins.size
  }

  #trim (): void {
    const oldest = this.#now() - this.#windowMs
    for (const [key, origin] of this.#origins) {
      if (this.#origins.size <= MAX_ENTRIES && origin.at >= oldest) break
      this.#origins.delete(key)
    }
  }
}

function keyOf (kind: MarkKind, issuer: string, id: string): string {
  return `${kind}\0${issuer}\0${id}`
}
