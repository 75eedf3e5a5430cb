import type { IssuerKeysSource } from '../tokens/discovery.js'
import type { JwksKeySet } from '../tokens/jwks.js'
import type { IssuerConfig } from '../tokens/options.js'
import type { AsymmetricAlgorithm } from '../tokens/algorithms.js'
import type { RevocationCaller } from './global-revocation.js'
import type { LogoutIssuer } from './logout-token.js'

/** Back-Channel Logout §2.6 step 3: configured, else named by the issuer's metadata, else RS256. */
function algorithmsOf (configured: readonly AsymmetricAlgorithm[] | null, source: IssuerKeysSource | undefined): readonly AsymmetricAlgorithm[] {
  return configured ?? source?.idTokenAlgorithms ?? ['RS256']
}

/**
 * The issuers whose logout tokens are accepted, each with its key set (in the order of
 * `issuers`, null where it has none) and its ID-token algorithms.
 */
export function logoutIssuersOf (issuers: readonly IssuerConfig[], jwks: ReadonlyArray<JwksKeySet | null>, sources: readonly IssuerKeysSource[]): LogoutIssuer[] {
  return issuers.flatMap((entry, index) => {
    const keys = jwks[index] ?? null
    const logout = entry.backchannelLogout
    if (logout === null || keys === null || entry.issuer === null) return []
    return [{ issuer: entry.issuer, clientIds: logout.clientIds, algorithms: algorithmsOf(logout.algorithms, sources[index]), relayUri: logout.relayUri, keys, sessions: entry.sessionClaim !== null }]
  })
}

/** The issuers whose Global Token Revocation requests are accepted, chosen the same way. */
export function revocationCallersOf (issuers: readonly IssuerConfig[], jwks: ReadonlyArray<JwksKeySet | null>, sources: readonly IssuerKeysSource[]): RevocationCaller[] {
  return issuers.flatMap((entry, index) => {
    const keys = jwks[index] ?? null
    const setting = entry.globalTokenRevocation
    if (setting === null || keys === null || entry.issuer === null) return []
    return [{ issuer: entry.issuer, algorithms: algorithmsOf(setting.algorithms, sources[index]), keys, audience: setting.audience, revokes: setting.revokes, emailIsSubject: setting.emailIsSubject }]
  })
}
