import { beforeOf, coveringMark } from '../covering.js'
import type { LookupQuery, MarkKind } from '../store.js'

/**
 * Key layout: `<prefix>jti:<jti>`, `<prefix>sid:<sid>`, `<prefix>sub:<sub>`
 * (value: "revoked before" seconds) and `<prefix>all` (same, for everyone).
 * Values of jti and sid marks are "1"; the TTL is the mark's lifetime.
 * `<prefix>log` is the revocation log (a stream; one key, so one slot);
 * `<prefix>idx:<bucket>` the load index (see load-index.ts).
 */
export class RedisKeys {
  readonly global: string
  readonly log: string
  readonly #prefix: string

  constructor (prefix: string) {
    this.#prefix = prefix
    this.global = `${prefix}all`
    this.log = `${prefix}log`
  }

  jti (jti: string): string { return `${this.#prefix}jti:${jti}` }
  session (sid: string): string { return `${this.#prefix}sid:${sid}` }
  user (sub: string): string { return `${this.#prefix}sub:${sub}` }
  index (bucket: string): string { return `${this.#prefix}idx:${bucket}` }

  /** The four keys of one lookup, in the order `decide` reads them. */
  lookupKeys (query: LookupQuery): [string, string, string, string] {
    return [this.jti(query.jti), this.session(query.sid), this.user(query.sub), this.global]
  }

  patterns (): Record<Exclude<MarkKind, 'global'>, string> {
    return { jti: `${this.#prefix}jti:*`, session: `${this.#prefix}sid:*`, user: `${this.#prefix}sub:*` }
  }
}

const POSITION: Readonly<Record<MarkKind, number>> = { jti: 0, session: 1, user: 2, global: 3 }

/** Which mark, if any, covers a token, from the four values of its lookup. */
export function decide (values: ReadonlyArray<string | null>, iat: number): MarkKind | null {
  return coveringMark({ jti: '', sid: '', sub: '', iat }, (kind) => {
    const value = values[POSITION[kind]]
    return value === null || value === undefined ? -1 : beforeOf(kind, value)
  })
}
