import { Failures, withDescription, type Failure } from '../errors.js'
import { mediaType, peekHeader, peekIssuer } from '../tokens/header.js'
import { isJsonObject } from './http.js'
import type { TransmitterConfig } from './options.js'
import type { TransmitterKeys } from './transmitter-keys.js'

/** A transmitter as the verifier needs it: its configuration and its keys. */
export interface TransmitterKeyring {
  readonly config: TransmitterConfig
  readonly keys: TransmitterKeys
}

/** A SET whose signature, issuer, audience and claims were checked. */
export interface VerifiedSet {
  readonly transmitter: TransmitterKeyring
  readonly jti: string
  readonly iat: number
  /** Event type URI and its payload (RFC 8417 §2.2 `events`). */
  readonly events: ReadonlyArray<readonly [string, Readonly<Record<string, unknown>>]>
  /** SSF 1.0 §3 `sub_id`, or the subject inside the event (CAEP and RISC before SSF 1.0); undefined when neither. */
  readonly subject: unknown
}

/** A refusal, and whether the SET came from a configured transmitter (then it raises an alert). */
export interface SetRefusal {
  readonly failure: Failure
  /** The transmitter the SET named, when it is a configured one. */
  readonly transmitter: TransmitterConfig | null
}

const MAX_SET_BYTES = 64 * 1024
const MAX_EVENTS = 16
const MAX_JTI_LENGTH = 512

function refuse (failure: Failure, transmitter: TransmitterConfig | null, description?: string): SetRefusal {
  return { failure: description === undefined ? failure : withDescription(failure, description), transmitter }
}

/** fast-jwt's claim errors, told apart by the claim they name. */
function failureOf (err: unknown): Failure {
  const { code, message } = err as { code?: string, message?: string }
  if (code === 'FAST_JWT_INVALID_CLAIM_VALUE' && message?.includes('aud') === true) return Failures.SSF_SET_AUDIENCE
  if (code === 'FAST_JWT_INVALID_CLAIM_VALUE' && message?.includes('iss') === true) return Failures.SSF_SET_ISSUER
  if (code === 'FAST_JWT_INVALID_SIGNATURE' || code === 'FAST_JWT_INVALID_ALGORITHM' || code === 'FAST_JWT_VERIFY_ERROR') return Failures.SSF_SET_KEY
  return Failures.SSF_SET_MALFORMED
}

function sameJson (a: unknown, b: unknown): boolean {
  const canonical = (value: unknown): unknown => isJsonObject(value)
    ? Object.fromEntries(Object.keys(value).sort().map((key) => [key, canonical(value[key])]))
    : Array.isArray(value) ? value.map(canonical) : value
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b))
}

/** RFC 8417 §2.2 and SSF 1.0 §4: the claims the receiver reads, typed. */
function readClaims (payload: Record<string, unknown>, transmitter: TransmitterKeyring): VerifiedSet | SetRefusal {
  const { jti, iat, events, sub_id: subId } = payload
  const config = transmitter.config
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH || !jti.isWellFormed()) return refuse(Failures.SSF_SET_MALFORMED, config, 'The security event token has no usable jti')
  if (typeof iat !== 'number' || !Number.isFinite(iat)) return refuse(Failures.SSF_SET_MALFORMED, config, 'The security event token has no numeric iat')
  if (!isJsonObject(events)) return refuse(Failures.SSF_SET_MALFORMED, config, 'The events claim is not a JSON object')
  const list = Object.entries(events)
  if (list.length === 0 || list.length > MAX_EVENTS || list.some(([, event]) => !isJsonObject(event))) {
    return refuse(Failures.SSF_SET_MALFORMED, config, `The events claim must hold 1 to ${MAX_EVENTS} events, each a JSON object (RFC 8417 §2.2)`)
  }
  const inEvents = list.map(([, event]) => (event as Record<string, unknown>).subject).filter((subject) => subject !== undefined)
  // Two places may name the subject; if both do and disagree, which one was meant is unknowable.
  if ([subId, ...inEvents].filter((subject) => subject !== undefined).some((subject, _, all) => !sameJson(subject, all[0]))) {
    return refuse(Failures.SSF_SET_MALFORMED, config, 'The sub_id claim and the subject inside the event name different subjects')
  }
  return {
    transmitter,
    jti,
    iat,
    events: list as Array<[string, Record<string, unknown>]>,
    subject: subId ?? inEvents[0]
  }
}

/**
 * Verifies a SET (RFC 8417, SSF 1.0 §4) from one of `transmitters`: compact JWS with typ
 * `secevent+jwt` (never an access token, whose verifier refuses `events` and this typ in
 * turn), an asymmetric algorithm of the transmitter, one of its keys (its JWKS refetched once
 * for an unknown kid), `iss` exactly the transmitter, `aud` one of its audiences, `jti`, `iat`
 * and `events`. `only`: push authenticated a transmitter, whose SETs alone it may deliver.
 */
export async function verifySet (token: string, transmitters: ReadonlyMap<string, TransmitterKeyring>, only: TransmitterKeyring | null = null): Promise<VerifiedSet | SetRefusal> {
  if (token.length > MAX_SET_BYTES) return refuse(Failures.SSF_SET_MALFORMED, only?.config ?? null, `The security event token is larger than ${MAX_SET_BYTES} bytes`)
  const parts = token.split('.')
  if (parts.length === 5) return refuse(Failures.SSF_SET_MALFORMED, only?.config ?? null, 'Encrypted security event tokens (JWE) are not accepted; sign them (JWS)')
  const header = parts.length === 3 ? peekHeader(token) : null
  const issuer = header === null ? undefined : peekIssuer(token)
  if (header === null || issuer === undefined) return refuse(Failures.SSF_SET_MALFORMED, only?.config ?? null, 'The body is not a compact JWS')
  const transmitter = issuer === null ? undefined : transmitters.get(issuer)
  if (transmitter === undefined) return refuse(Failures.SSF_SET_ISSUER, only?.config ?? null)
  if (only !== null && transmitter !== only) return refuse(Failures.SSF_ACCESS_DENIED, only.config)
  const config = transmitter.config
  // RFC 8417 §2.3 and SSF 1.0 §4.1.1: explicit typing keeps a SET from passing as another JWT, and back.
  if (header.typ === null || mediaType(header.typ) !== 'secevent+jwt') return refuse(Failures.SSF_SET_MALFORMED, config, 'The typ header must be secevent+jwt (SSF 1.0 §4.1.1)')
  if (!(config.algorithms as readonly string[]).includes(header.alg)) return refuse(Failures.SSF_SET_KEY, config, 'The algorithm is not one this transmitter may sign with')
  let candidates = transmitter.keys.candidates(header.kid, header.alg)
  if (candidates.length === 0 && (header.kid === null || !transmitter.keys.hasKid(header.kid)) && await transmitter.keys.refresh()) {
    candidates = transmitter.keys.candidates(header.kid, header.alg)
  }
  if (candidates.length === 0) return refuse(Failures.SSF_SET_KEY, config, 'No key of this transmitter matches the kid and algorithm')
  let failure: Failure = Failures.SSF_SET_KEY
  for (const key of candidates) {
    try {
      return readClaims(key.verify(token), transmitter)
    } catch (err) {
      failure = failureOf(err)
      if (failure !== Failures.SSF_SET_KEY) break
    }
  }
  return refuse(failure, config)
}

export function isRefusal (value: VerifiedSet | SetRefusal): value is SetRefusal {
  return 'failure' in value
}
