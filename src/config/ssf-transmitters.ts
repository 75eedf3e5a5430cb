import { Ajv } from 'ajv'
import type { AsymmetricAlgorithm } from '../tokens/algorithms.js'
import type { IssuerConfig } from '../tokens/options.js'
import type { OutboundAuth, SsfConfig, SubjectFormat, TransmitterConfig } from '../ssf/options.js'
import type { EnvReader } from './env-reader.js'
import { endpointUrl, readDocument, reportSchema } from './json-document.js'
import { SSF_TRANSMITTERS_SCHEMA } from './ssf-transmitters-schema.js'

const NAME = 'SSF_TRANSMITTERS'
const DAY_S = 86_400
const DEFAULT_ALGORITHMS: readonly AsymmetricAlgorithm[] = ['RS256', 'ES256']
const DEFAULT_USER_FORMATS: readonly SubjectFormat[] = ['iss_sub', 'opaque']
// The header value is the transmitter's only credential on the push endpoint: as long as an HMAC key.
const MIN_PUSH_AUTHORIZATION_LENGTH = 32

const validate = new Ajv({ allErrors: true, verbose: true, strict: true }).compile(SSF_TRANSMITTERS_SCHEMA)

interface AuthEntry {
  readonly bearer?: string
  readonly client_credentials?: { token_endpoint: string, client_id: string, client_secret: string, scope?: string }
}

/** An SSF_TRANSMITTERS entry as the schema admits it. */
interface TransmitterEntry {
  readonly issuer: string
  readonly jwks_uri?: string
  readonly metadata?: boolean | string
  readonly audience: string | readonly string[]
  readonly algorithms?: readonly AsymmetricAlgorithm[]
  readonly revokes?: string
  readonly subjects?: { user_formats?: readonly SubjectFormat[], iss_sub_issuers?: readonly string[] }
  readonly delivery: {
    push?: { authorization: string, endpoint_url?: string }
    poll?: { endpoint?: string, max_events?: number, wait_s?: number }
  }
  readonly authorization?: AuthEntry
  readonly stream?: { manage?: boolean, events_requested?: readonly string[] }
}

interface Context {
  readonly r: EnvReader
  readonly allowHttp: boolean
  readonly issuers: readonly IssuerConfig[]
}

function url ({ r, allowHttp }: Context, at: string, value: string): URL | null {
  return endpointUrl(r, NAME, at, value, allowHttp)
}

/** SSF 1.0 §6.2.1: the metadata is at the issuer with `/.well-known/ssf-configuration` inserted after the host. */
export function ssfMetadataUrlOf (issuer: string): URL {
  const { origin, pathname } = new URL(issuer)
  return new URL(`${origin}/.well-known/ssf-configuration${pathname.replace(/\/$/, '')}`)
}

function outboundAuth (c: Context, at: string, entry: AuthEntry | undefined): OutboundAuth {
  if (entry === undefined) return { kind: 'none' }
  if (entry.bearer !== undefined) return { kind: 'bearer', token: entry.bearer }
  const cc = entry.client_credentials
  if (cc === undefined) return { kind: 'none' }
  const tokenUrl = url(c, `${at}.client_credentials.token_endpoint`, cc.token_endpoint)
  return tokenUrl === null
    ? { kind: 'none' }
    : { kind: 'client_credentials', tokenUrl, clientId: cc.client_id, clientSecret: cc.client_secret, scope: cc.scope ?? null }
}

/** The trusted issuer a transmitter's revocations apply to: named, or the only one. */
function revokedIssuer ({ r, issuers }: Context, at: string, named: string | undefined): IssuerConfig | null {
  const trusted = issuers.filter((entry) => entry.issuer !== null)
  if (named === undefined) {
    if (trusted.length === 1) return trusted[0]
    r.fail(NAME, `${at}.revokes: required: ${trusted.length === 0 ? 'no trusted issuer is named (set JWT_ISSUER or JWT_ISSUERS)' : 'several issuers are trusted; name the one whose tokens this transmitter revokes'}`)
    return null
  }
  const found = trusted.find((entry) => entry.issuer === named)
  if (found === undefined) r.fail(NAME, `${at}.revokes: "${named.slice(0, 200)}" is not a trusted issuer (JWT_ISSUER or an entry of JWT_ISSUERS)`)
  return found ?? null
}

function toTransmitter (c: Context, index: number, entry: TransmitterEntry): TransmitterConfig | null {
  const { r } = c
  const at = `[${index}]`
  const issuerUrl = url(c, `${at}.issuer`, entry.issuer)
  if (issuerUrl !== null && (entry.issuer.includes('?') || entry.issuer.includes('#'))) r.fail(NAME, `${at}.issuer: has a query or fragment; an issuer has neither`)
  const { push, poll } = entry.delivery
  if (push === undefined && poll === undefined) r.fail(NAME, `${at}.delivery: needs push, poll or both`)
  const manage = entry.stream?.manage ?? false
  const wantsMetadata = entry.metadata !== undefined && entry.metadata !== false
  if (entry.jwks_uri === undefined && !wantsMetadata) r.fail(NAME, `${at}: needs jwks_uri or metadata (where its keys are)`)
  if (entry.jwks_uri !== undefined && wantsMetadata && entry.metadata !== true && typeof entry.metadata !== 'string') r.fail(NAME, `${at}.metadata: invalid`)
  if (manage && !wantsMetadata) r.fail(NAME, `${at}.stream.manage: needs metadata (the configuration_endpoint is read from it)`)
  // A managed stream has one delivery method, push when configured: only a poll stream names a poll endpoint.
  if (poll !== undefined && poll.endpoint === undefined && (!manage || push !== undefined)) {
    r.fail(NAME, `${at}.delivery.poll.endpoint: required unless stream.manage takes it from the stream (a poll stream: no push delivery beside it)`)
  }
  if (push !== undefined && push.authorization.length < MIN_PUSH_AUTHORIZATION_LENGTH) {
    // The value is a secret: never echoed.
    r.fail(NAME, `${at}.delivery.push.authorization: shorter than ${MIN_PUSH_AUTHORIZATION_LENGTH} characters`)
  }
  if (manage && push !== undefined && push.endpoint_url === undefined) r.fail(NAME, `${at}.delivery.push.endpoint_url: required with stream.manage (the transmitter must be told where to push)`)
  let metadataUrl: URL | null = null
  if (typeof entry.metadata === 'string') metadataUrl = url(c, `${at}.metadata`, entry.metadata)
  else if (entry.metadata === true && issuerUrl !== null) metadataUrl = ssfMetadataUrlOf(entry.issuer)
  const revoked = revokedIssuer(c, at, entry.revokes)
  const auth = outboundAuth(c, `${at}.authorization`, entry.authorization)
  if (revoked === null || issuerUrl === null) return null
  return {
    issuer: entry.issuer,
    jwksUrl: entry.jwks_uri === undefined ? null : url(c, `${at}.jwks_uri`, entry.jwks_uri),
    metadataUrl,
    audiences: typeof entry.audience === 'string' ? [entry.audience] : [...entry.audience],
    algorithms: entry.algorithms ?? DEFAULT_ALGORITHMS,
    push: push === undefined
      ? null
      : { authorization: push.authorization, endpointUrl: push.endpoint_url === undefined ? null : url(c, `${at}.delivery.push.endpoint_url`, push.endpoint_url) },
    poll: poll === undefined
      ? null
      : { endpoint: poll.endpoint === undefined ? null : url(c, `${at}.delivery.poll.endpoint`, poll.endpoint), maxEvents: poll.max_events ?? 100, waitS: poll.wait_s ?? 30 },
    auth,
    stream: { manage, eventsRequested: entry.stream?.events_requested ?? [] },
    revokes: revoked.issuer ?? '',
    sessionClaim: revoked.sessionClaim,
    userFormats: entry.subjects?.user_formats ?? DEFAULT_USER_FORMATS,
    subjectIssuers: entry.subjects?.iss_sub_issuers ?? [...new Set([revoked.issuer ?? '', entry.issuer])]
  }
}

function reportDuplicates (r: EnvReader, entries: readonly TransmitterEntry[]): void {
  const seen = new Map<string, number>()
  for (const [index, entry] of entries.entries()) {
    const first = seen.get(entry.issuer)
    if (first === undefined) seen.set(entry.issuer, index)
    else r.fail(NAME, `[${index}].issuer: "${entry.issuer.slice(0, 200)}" is also entry [${first}]; list each transmitter once`)
  }
}

/**
 * SSF_TRANSMITTERS (with SSF_REPLAY_WINDOW and SSF_REQUEST_TIMEOUT_MS), validated against
 * SSF_TRANSMITTERS_SCHEMA and the rules across keys; null when unset. Every problem at once.
 */
export function readSsf (r: EnvReader, issuers: readonly IssuerConfig[], allowHttp: boolean): SsfConfig | null {
  const replayWindowS = r.durationS('SSF_REPLAY_WINDOW', 7 * DAY_S, { min: 60, max: 90 * DAY_S })
  const requestTimeoutMs = r.int('SSF_REQUEST_TIMEOUT_MS', 5000, { min: 100, max: 120_000 })
  const value = r.raw(NAME)
  if (value === undefined) return null
  const document = readDocument(r, NAME, value)
  if (document === undefined) return null
  const broken = validate(document) ? new Set<number>() : reportSchema(r, NAME, validate.errors ?? [], { entries: 'transmitter entries', empty: 'an empty list receives from no transmitter; list at least one, or leave it unset' })
  if (broken.has(-1) || !Array.isArray(document)) return null
  const entries = document as TransmitterEntry[]
  reportDuplicates(r, entries.filter((_, index) => !broken.has(index)))
  const context = { r, allowHttp, issuers }
  const transmitters = entries.flatMap((entry, index) => {
    if (broken.has(index)) return []
    const transmitter = toTransmitter(context, index, entry)
    return transmitter === null ? [] : [transmitter]
  })
  return { transmitters, replayWindowS, requestTimeoutMs, allowHttp }
}
