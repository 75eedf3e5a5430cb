import { Failures, GatewayError } from '../errors.js'

/**
 * The issuer of a mark that covers its id in every issuer: `revoke-all` with
 * `all_issuers`, an admin target while no issuer is named in the
 * configuration (JWT_ISSUER unset: `iss` is not checked), and every mark
 * written before marks were kept per issuer (docs/scaling.md, "Upgrading").
 */
export const ANY_ISSUER = '*'

/** The issuer a token's marks are kept under: its `iss` claim, '' when it has none. */
export function issuerOfToken (claims: { readonly iss?: string }): string {
  return claims.iss ?? ''
}

/**
 * Which issuer an administrative revocation names. Named in the request: it
 * must be a trusted one. Not named: the single trusted issuer, every issuer
 * when none is named in the configuration, and a 400 when several are
 * trusted (`alice` of which one?).
 */
export class IssuerScope {
  readonly #named: readonly string[]

  constructor (issuers: ReadonlyArray<{ readonly issuer: string | null }>) {
    this.#named = issuers.flatMap(({ issuer }) => issuer === null ? [] : [issuer])
  }

  /** The issuer of a user, session or jti named without its token. */
  target (requested: string | undefined): string {
    if (requested !== undefined) {
      if (this.#named.length > 0 && !this.#named.includes(requested)) throw new GatewayError(Failures.ISSUER_UNKNOWN)
      return requested
    }
    if (this.#named.length > 1) throw new GatewayError(Failures.ISSUER_REQUIRED)
    return this.#named[0] ?? ANY_ISSUER
  }

  /**
   * The issuer of a user looked up, not revoked (activity): named, it must be
   * a trusted one; not named, the single trusted issuer, '' (tokens without
   * `iss`) when none is named in the configuration, a 400 when several are.
   */
  subject (requested: string | undefined): string {
    const issuer = this.target(requested)
    return issuer === ANY_ISSUER && requested === undefined ? '' : issuer
  }

  /** The issuer of `revoke-all`: one issuer, or every one when `allIssuers` says so explicitly. */
  everyone (requested: string | undefined, allIssuers: boolean): string {
    if (!allIssuers) return this.target(requested)
    if (requested !== undefined) throw new GatewayError(Failures.ISSUER_CONFLICT)
    return ANY_ISSUER
  }
}
