import { createHash } from 'node:crypto'
import { beforeOf, coveringMark } from '../covering.js'
import { ANY_ISSUER } from '../issuer-scope.js'
import type { LookupQuery, MarkKind } from '../store.js'

/** Base64url characters of an issuer's SHA-256 kept in its keys: 72 bits, no `{` or `}` (hash tags stay the prefix's or the id's). */
const DIGEST_CHARS = 12
const MAX_CACHED_DIGESTS = 256
const NAME: Readonly<Record<MarkKind, string>> = { jti: 'jti', session: 'sid', user: 'sub', global: 'all' }

/**
 * Key layout: a mark of one issuer is `<prefix>jti@<d>:<jti>`,
 * `<prefix>sid@<d>:<sid>`, `<prefix>sub@<d>:<sub>` (value: "revoked before"
 * seconds) and `<prefix>all@<d>` (same, for everyone of that issuer), where
 * `<d>` is a short digest of the issuer (the full issuer is in the log entry
 * and the index record): a key's length does not grow with the issuer's.
 * A mark of every issuer (ANY_ISSUER) has the layout that came before issuers
 * were part of the key, `<prefix>jti:<jti>`, `<prefix>sid:<sid>`,
 * `<prefix>sub:<sub>`, `<prefix>all`: marks written before then are marks of
 * every issuer, as they were. Values of jti and sid marks are "1"; the TTL is
 * the mark's lifetime. `<prefix>log` is the revocation log (a stream; one
 * key, so one slot); `<prefix>idx:<bucket>` the load index (see load-index.ts).
 */
export class RedisKeys {
  readonly log: string
  readonly #prefix: string
  readonly #digests = new Map<string, string>()

  constructor (prefix: string) {
    this.#prefix = prefix
    this.log = `${prefix}log`
  }

  /** The key of the mark (kind, issuer, id); a global mark's id is ''. */
  mark (kind: MarkKind, issuer: string, id: string): string {
    const scope = issuer === ANY_ISSUER ? '' : `@${this.#digest(issuer)}`
    return kind === 'global' ? `${this.#prefix}all${scope}` : `${this.#prefix}${NAME[kind]}${scope}:${id}`
  }

  index (bucket: string): string { return `${this.#prefix}idx:${bucket}` }

  /** The eight keys of one lookup, in the order `decide` reads them: each kind of the token's issuer, then of every issuer. */
  lookupKeys (query: LookupQuery): string[] {
    const { iss } = query
    return [
      this.mark('jti', iss, query.jti), this.mark('jti', ANY_ISSUER, query.jti),
      this.mark('session', iss, query.sid), this.mark('session', ANY_ISSUER, query.sid),
      this.mark('user', iss, query.sub), this.mark('user', ANY_ISSUER, query.sub),
      this.mark('global', iss, ''), this.mark('global', ANY_ISSUER, '')
    ]
  }

  /** SCAN patterns per kind: every issuer's marks and the marks of every issuer. */
  patterns (): Record<MarkKind, string> {
    const p = this.#prefix
    return { jti: `${p}jti[:@]*`, session: `${p}sid[:@]*`, user: `${p}sub[:@]*`, global: `${p}all*` }
  }

  #digest (issuer: string): string {
    let digest = this.#digests.get(issuer)
    if (digest === undefined) {
      digest = createHash('sha256').update(issuer).digest('base64url').slice(0, DIGEST_CHARS)
      if (this.#digests.size >= MAX_CACHED_DIGESTS) this.#digests.clear()
      this.#digests.set(issuer, digest)
    }
    return digest
  }
}

const POSITION: Readonly<Record<MarkKind, number>> = { jti: 0, session: 2, user: 4, global: 6 }

/** Which mark, if any, covers a token, from the eight values of its lookup (lookupKeys' order). */
export function decide (values: ReadonlyArray<string | null>, iat: number): MarkKind | null {
  return coveringMark({ iss: '', jti: '', sid: '', sub: '', iat }, (kind, issuer) => {
    const value = values[POSITION[kind] + (issuer === ANY_ISSUER ? 1 : 0)]
    return value === null || value === undefined ? -1 : beforeOf(kind, value)
  })
}
