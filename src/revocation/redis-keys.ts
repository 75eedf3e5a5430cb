import type { LookupQuery, MarkKind } from './store.js'

/**
 * Key layout: `<prefix>jti:<jti>`, `<prefix>sid:<sid>`, `<prefix>sub:<sub>`
 * (value: "revoked before" seconds) and `<prefix>all` (same, for everyone).
 * Values of jti and sid marks are "1"; the TTL is the mark's lifetime.
 */
export class RedisKeys {
  readonly channel: string
  readonly global: string
  readonly #prefix: string

  constructor (prefix: string) {
    this.#prefix = prefix
    this.channel = `${prefix}events`
    this.global = `${prefix}all`
  }

  jti (jti: string): string { return `${this.#prefix}jti:${jti}` }
  session (sid: string): string { return `${this.#prefix}sid:${sid}` }
  user (sub: string): string { return `${this.#prefix}sub:${sub}` }

  /** The four keys of one lookup, in the order `decide` reads them. */
  lookupKeys (query: LookupQuery): [string, string, string, string] {
    return [this.jti(query.jti), this.session(query.sid), this.user(query.sub), this.global]
  }

  patterns (): Record<Exclude<MarkKind, 'global'>, string> {
    return { jti: `${this.#prefix}jti:*`, session: `${this.#prefix}sid:*`, user: `${this.#prefix}sub:*` }
  }
}

/** Which mark, if any, covers a token, from the four values of its lookup. */
export function decide (values: ReadonlyArray<string | null>, iat: number): MarkKind | null {
  if (values[0] !== null) return 'jti'
  if (values[1] !== null) return 'session'
  if (values[2] !== null && iat <= Number(values[2])) return 'user'
  if (values[3] !== null && iat <= Number(values[3])) return 'global'
  return null
}
