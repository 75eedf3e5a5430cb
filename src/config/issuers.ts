import { ANY_ISSUER } from '../revocation/issuer-scope.js'
import { Ajv } from 'ajv'
import type { Algorithm, AsymmetricAlgorithm } from '../tokens/algorithms.js'
import { CLAIM_PATH_RULE, claimPath, DEFAULT_ROLES_CLAIM } from '../tokens/claims.js'
import { discoveryUrlOf, type DiscoverySetting } from '../tokens/discovery.js'
import type { BackchannelLogoutConfig, GlobalRevocationConfig, IssuerConfig } from '../tokens/options.js'
import type { EnvReader } from './env-reader.js'
import { ISSUERS_SCHEMA } from './issuers-schema.js'
import { endpointUrl, readDocument, reportSchema } from './json-document.js'

const NAME = 'JWT_ISSUERS'
const DEFAULT_ALGORITHMS: readonly Algorithm[] = ['RS256']
/** Variables that describe the one issuer of the single-issuer configuration. */
export const SINGLE_ISSUER_VARIABLES = ['JWT_ISSUER', 'JWT_AUDIENCE', 'JWKS_URL', 'ROLES_CLAIM', 'BACKCHANNEL_LOGOUT_CLIENT_IDS'] as const

// Compiled once, at start: every problem at once (allErrors); verbose gives each anyOf its description.
const validate = new Ajv({ allErrors: true, verbose: true, strict: true }).compile(ISSUERS_SCHEMA)

/** A JWT_ISSUERS entry as the schema admits it. */
interface IssuerEntry {
  readonly issuer: string
  readonly jwks_uri?: string
  readonly discovery?: DiscoverySetting
  readonly audience: string | readonly string[]
  readonly algorithms?: readonly Algorithm[]
  readonly roles_claim?: string | readonly string[]
  readonly session_claim?: string | null
  readonly jti_claim?: string | null
  readonly grants_admin?: boolean
  readonly backchannel_logout?: {
    readonly client_ids: readonly string[]
    readonly relay_uri?: string
    readonly algorithms?: readonly AsymmetricAlgorithm[]
  }
  readonly global_token_revocation?: {
    readonly audience: string
    readonly algorithms?: readonly AsymmetricAlgorithm[]
    readonly revokes?: readonly string[]
    readonly email_is_sub?: boolean
  }
}

interface UrlRule { readonly allowHttp: boolean }

function fetchUrl (r: EnvReader, at: string, value: string, { allowHttp }: UrlRule): URL | null {
  return endpointUrl(r, NAME, at, value, allowHttp)
}

/** OIDC Core §2 and RFC 8414 §2: an https URL with no query or fragment. */
function checkIssuer (r: EnvReader, at: string, issuer: string, rule: UrlRule): void {
  const url = fetchUrl(r, at, issuer, rule)
  if (url !== null && (issuer.includes('?') || issuer.includes('#'))) r.fail(NAME, `${at}: "${issuer}" has a query or fragment; an issuer has neither (RFC 8414 §2)`)
}

// RFC 9864 §2.2, as for JWT_ALGORITHMS: EdDSA on Ed25519 keys is also named Ed25519.
function withEd25519 (algorithms: readonly Algorithm[]): readonly Algorithm[] {
  return algorithms.includes('EdDSA') && !algorithms.includes('Ed25519') ? [...algorithms, 'Ed25519'] : algorithms
}

function rolesOf (r: EnvReader, at: string, setting: string | readonly string[] | undefined): string[][] {
  const paths = setting === undefined ? DEFAULT_ROLES_CLAIM : typeof setting === 'string' ? [setting] : setting
  return paths.flatMap((path) => {
    const segments = claimPath(path)
    if (segments === null) r.fail(NAME, `${at}: "${path}" is not ${CLAIM_PATH_RULE}`)
    return segments === null ? [] : [segments]
  })
}

function toIssuer (r: EnvReader, index: number, entry: IssuerEntry, rule: UrlRule): IssuerConfig {
  const at = `[${index}]`
  checkIssuer(r, `${at}.issuer`, entry.issuer, rule)
  const discovers = entry.discovery !== undefined && entry.discovery !== false
  if (discovers === (entry.jwks_uri !== undefined)) {
    r.fail(NAME, `${at}: ${discovers ? 'both jwks_uri and discovery are set; choose one' : 'needs jwks_uri or discovery (where its keys are)'}`)
  }
  let discoveryUrl: URL | null = null
  if (discovers && entry.discovery !== undefined) {
    const explicit = typeof entry.discovery === 'string' && entry.discovery.includes('://')
    try {
      discoveryUrl = explicit ? fetchUrl(r, `${at}.discovery`, String(entry.discovery), rule) : discoveryUrlOf(entry.issuer, entry.discovery)
    } catch {
      // The issuer is not a URL: already reported.
    }
  }
  return {
    issuer: entry.issuer,
    jwksUrl: entry.jwks_uri === undefined ? null : fetchUrl(r, `${at}.jwks_uri`, entry.jwks_uri, rule),
    discoveryUrl,
    audiences: typeof entry.audience === 'string' ? [entry.audience] : [...entry.audience],
    algorithms: withEd25519(entry.algorithms ?? DEFAULT_ALGORITHMS),
    rolesClaim: rolesOf(r, `${at}.roles_claim`, entry.roles_claim),
    sessionClaim: entry.session_claim === undefined ? 'sid' : entry.session_claim,
    jtiClaim: entry.jti_claim === undefined ? 'jti' : entry.jti_claim,
    grantsAdmin: entry.grants_admin ?? false,
    backchannelLogout: backchannelOf(r, at, entry, rule),
    globalTokenRevocation: globalRevocationOf(entry)
  }
}

function globalRevocationOf (entry: IssuerEntry): GlobalRevocationConfig | null {
  const setting = entry.global_token_revocation
  if (setting === undefined) return null
  return {
    audience: setting.audience,
    algorithms: setting.algorithms === undefined ? null : [...setting.algorithms],
    revokes: setting.revokes === undefined ? [entry.issuer] : [...setting.revokes],
    emailIsSubject: setting.email_is_sub ?? false
  }
}

/** Rules across entries: whom a Global Token Revocation caller may revoke, and its audience kept apart. */
function reportGlobalRevocation (r: EnvReader, issuers: readonly IssuerConfig[]): void {
  const names = new Set(issuers.map(({ issuer }) => issuer))
  const accessAudiences = new Set(issuers.flatMap(({ audiences }) => audiences))
  issuers.forEach(({ globalTokenRevocation: setting, jwksUrl, discoveryUrl }, index) => {
    if (setting === null) return
    const at = `[${index}].global_token_revocation`
    if (jwksUrl === null && discoveryUrl === null) r.fail(NAME, `${at}: needs jwks_uri or discovery (its requests are verified with its published keys)`)
    for (const issuer of setting.revokes) if (!names.has(issuer)) r.fail(NAME, `${at}.revokes: "${issuer}" is not an issuer of JWT_ISSUERS`)
    // An access token of the API must never authorise revoking users.
    if (accessAudiences.has(setting.audience)) r.fail(NAME, `${at}.audience: "${setting.audience}" is also an access-token audience; give revocation requests an audience of their own (the endpoint's URL)`)
  })
}

function backchannelOf (r: EnvReader, at: string, entry: IssuerEntry, rule: UrlRule): BackchannelLogoutConfig | null {
  const setting = entry.backchannel_logout
  if (setting === undefined) return null
  if (entry.jwks_uri === undefined && (entry.discovery === undefined || entry.discovery === false)) return null // reported: no keys
  return {
    clientIds: [...setting.client_ids],
    relayUri: setting.relay_uri === undefined ? null : fetchUrl(r, `${at}.backchannel_logout.relay_uri`, setting.relay_uri, rule),
    algorithms: setting.algorithms === undefined ? null : [...setting.algorithms]
  }
}

/** Compared exactly, as tokens' iss is: `https://a` and `https://a/` are two issuers (and may both be listed). */
function reportDuplicates (r: EnvReader, entries: readonly IssuerEntry[]): void {
  const seen = new Map<unknown, number>()
  for (const [index, entry] of entries.entries()) {
    const issuer = (entry as { issuer?: unknown } | null)?.issuer
    if (typeof issuer !== 'string') continue
    if (issuer === ANY_ISSUER) r.fail(NAME, `[${index}].issuer: "${ANY_ISSUER}" is reserved: revocation marks of every issuer are written under it`)
    const first = seen.get(issuer)
    if (first === undefined) seen.set(issuer, index)
    else r.fail(NAME, `[${index}].issuer: "${issuer}" is also entry [${first}]; list each issuer once`)
  }
}

/**
 * JWT_ISSUERS, validated against ISSUERS_SCHEMA and the rules across keys; null when unset.
 * Every problem is named at once, each with the entry's index and key.
 */
export function readIssuers (r: EnvReader, allowHttp: boolean): IssuerConfig[] | null {
  const value = r.raw('JWT_ISSUERS')
  if (value === undefined) return null
  const alongside = SINGLE_ISSUER_VARIABLES.filter((name) => r.has(name))
  if (alongside.length > 0) {
    r.fail(NAME, `set together with ${alongside.join(', ')}: the single-issuer variables describe one issuer, JWT_ISSUERS a list; move them into its entries`)
  }
  const document = readDocument(r, NAME, value)
  if (document === undefined) return []
  const broken = validate(document) ? new Set<number>() : reportSchema(r, NAME, validate.errors ?? [], { entries: 'issuer entries', empty: 'an empty list trusts no issuer; list at least one' })
  if (broken.has(-1) || !Array.isArray(document)) return []
  const entries = document as IssuerEntry[]
  reportDuplicates(r, entries)
  const rule = { allowHttp }
  const issuers = entries.flatMap((entry, index) => broken.has(index) ? [] : [toIssuer(r, index, entry, rule)])
  if (broken.size === 0) reportGlobalRevocation(r, issuers)
  return issuers
}
