import { request } from 'undici'
import { ConfigError } from '../errors.js'
import { ALL_ALGORITHMS, isHmac, type AsymmetricAlgorithm } from './algorithms.js'
import type { JwtConfig } from './options.js'
import { readCapped } from './read-capped.js'

/** Metadata documents are a few kilobytes; Keycloak's, among the largest, is under 10 KiB. */
const MAX_METADATA_BYTES = 256 * 1024

/**
 * `discovery` of a JWT_ISSUERS entry: true or "openid-configuration" for OpenID Connect
 * Discovery, "oauth-authorization-server" for RFC 8414, or the metadata URL itself.
 */
export type DiscoverySetting = boolean | 'openid-configuration' | 'oauth-authorization-server' | string

/**
 * The metadata URL of `issuer`. OIDC Discovery 1.0 §4: the issuer with any trailing `/` removed,
 * then `/.well-known/openid-configuration`. RFC 8414 §3.1: `/.well-known/oauth-authorization-server`
 * inserted between the host and the issuer's path (its trailing `/` removed). Throws on a bad URL.
 */
export function discoveryUrlOf (issuer: string, discovery: DiscoverySetting): URL {
  if (discovery === true || discovery === 'openid-configuration') {
    return new URL(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`)
  }
  if (discovery === 'oauth-authorization-server') {
    const { origin, pathname } = new URL(issuer)
    return new URL(`${origin}/.well-known/oauth-authorization-server${pathname.replace(/\/$/, '')}`)
  }
  return new URL(String(discovery))
}

/** A discovery that cannot be trusted or did not complete; the message names the issuer. */
export class DiscoveryError extends Error {
  readonly issuer: string

  constructor (issuer: string, message: string) {
    super(`issuer "${issuer}": ${message}`)
    this.issuer = issuer
    this.name = 'DiscoveryError'
  }
}

export interface DiscoveryOptions {
  readonly timeoutMs: number
  /** NODE_ENV=development: an http:// jwks_uri is accepted. */
  readonly allowHttp: boolean
}

/** What tokengate takes from the metadata: the issuer it vouched for, its keys, its ID-token algorithms. */
export interface IssuerMetadata {
  readonly issuer: string
  readonly jwksUrl: URL
  /** id_token_signing_alg_values_supported, the asymmetric ones only; null when it names none. */
  readonly idTokenAlgorithms: readonly AsymmetricAlgorithm[] | null
}

/** Start-up facts about one issuer: where its keys are, and the ID-token algorithms its metadata names. */
export interface IssuerKeysSource {
  readonly jwksUrl: Readonly<URL> | null
  readonly idTokenAlgorithms: readonly AsymmetricAlgorithm[] | null
}

// Logout tokens are verified as ID tokens (Back-Channel Logout §2.6): with keys, never HS* or none.
function idTokenAlgorithmsOf (value: unknown): readonly AsymmetricAlgorithm[] | null {
  if (!Array.isArray(value)) return null
  const usable = value.filter((alg): alg is AsymmetricAlgorithm => typeof alg === 'string' && (ALL_ALGORITHMS as readonly string[]).includes(alg) && !isHmac(alg))
  return usable.length === 0 ? null : usable
}

async function fetchMetadata (url: URL, timeoutMs: number): Promise<unknown> {
  // No redirects (undici's default): the metadata must be where the issuer's name says it is.
  const res = await request(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) })
  if (res.statusCode !== 200) {
    await res.body.dump()
    throw new Error(`status ${res.statusCode}`)
  }
  return JSON.parse(await readCapped(res.body, MAX_METADATA_BYTES, 'metadata document'))
}

/**
 * Reads an issuer's metadata and returns its jwks_uri. The metadata's `issuer` must equal the
 * configured one exactly (OIDC Discovery 1.0 §4.3, RFC 8414 §3.3): otherwise whoever serves
 * the document could name keys for an issuer that is not theirs. A trailing `/` counts.
 */
export async function discover (issuer: string, url: Readonly<URL>, { timeoutMs, allowHttp }: DiscoveryOptions): Promise<IssuerMetadata> {
  const where = url.origin + url.pathname
  let doc: unknown
  try {
    doc = await fetchMetadata(new URL(url.href), timeoutMs)
  } catch (err) {
    throw new DiscoveryError(issuer, `its metadata at ${where} could not be read (${(err as Error).message})`)
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new DiscoveryError(issuer, `the metadata at ${where} is not a JSON object`)
  const { issuer: named, jwks_uri: jwksUri } = doc as Record<string, unknown>
  if (named !== issuer) {
    const shown = typeof named === 'string' ? `"${named.slice(0, 200)}"` : 'no issuer'
    throw new DiscoveryError(issuer, `the metadata at ${where} names ${shown}; it must name the configured issuer exactly, trailing "/" included (OIDC Discovery 1.0 §4.3, RFC 8414 §3.3)`)
  }
  let jwksUrl: URL
  try {
    jwksUrl = new URL(String(jwksUri))
  } catch {
    throw new DiscoveryError(issuer, `the metadata at ${where} has no jwks_uri URL`)
  }
  if (jwksUrl.protocol !== 'https:' && !(allowHttp && jwksUrl.protocol === 'http:')) {
    throw new DiscoveryError(issuer, `the metadata at ${where} names jwks_uri ${jwksUrl.origin}${jwksUrl.pathname}, which is not https (http is accepted only with NODE_ENV=development)`)
  }
  return { issuer, jwksUrl, idTokenAlgorithms: idTokenAlgorithmsOf((doc as Record<string, unknown>).id_token_signing_alg_values_supported) }
}

/**
 * At start-up: the JWKS of each issuer, in the order of jwt.issuers: its jwks_uri (JWKS_URL), or
 * the one its metadata names, or null (only static keys). Discoveries run side by side. A failed
 * or untrusted one stops start-up, naming JWT_ISSUERS and the issuer: without its keys none of
 * its tokens could be verified.
 */
export async function jwksUrlsOf (jwt: JwtConfig): Promise<Array<Readonly<URL> | null>> {
  return (await issuerKeysSources(jwt)).map(({ jwksUrl }) => jwksUrl)
}

/** jwksUrlsOf, with each discovered issuer's ID-token algorithms (for back-channel logout). */
export async function issuerKeysSources (jwt: JwtConfig): Promise<IssuerKeysSource[]> {
  const options = { timeoutMs: jwt.jwksTimeoutMs, allowHttp: jwt.allowHttpKeys }
  const settled = await Promise.allSettled(jwt.issuers.map(async ({ issuer, jwksUrl, discoveryUrl }): Promise<IssuerKeysSource> => {
    if (jwksUrl !== null || issuer === null || discoveryUrl === null) return { jwksUrl, idTokenAlgorithms: null }
    return await discover(issuer, discoveryUrl, options)
  }))
  const failed = settled.flatMap((outcome) => outcome.status === 'rejected' ? [outcome.reason as unknown] : [])
  if (failed.length === 0) return settled.map((outcome) => (outcome as PromiseFulfilledResult<IssuerKeysSource>).value)
  const other = failed.find((err) => !(err instanceof DiscoveryError))
  if (other !== undefined) throw other
  throw new ConfigError(failed.map((err) => `JWT_ISSUERS: ${(err as DiscoveryError).message}`))
}
