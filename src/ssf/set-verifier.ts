import { Failures, withDescription, type Failure } from '../errors.js'
import { createSignedJwtVerifier, type SignatureProblem, type SigningIssuer } from '../idp/signed-jwt.js'
import { mediaType } from '../tokens/header.js'
import { isJsonObject } from './http.js'
import type { TransmitterConfig } from './options.js'

/** A transmitter as the verifier needs it: its configuration, and its name, algorithms and keys for the signature. */
export interface TransmitterKeyring extends SigningIssuer {
  readonly config: TransmitterConfig
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

/** A refusal, and the configured transmitter the SET named, if any (then it raises an alert). */
export interface SetRefusal {
  readonly failure: Failure
  readonly transmitter: TransmitterConfig | null
}

/** Verifies one SET; `only`: push authenticated a transmitter, whose SETs alone it may deliver. */
export type SetVerifier = (token: string, only?: TransmitterKeyring | null) => Promise<VerifiedSet | SetRefusal>

export const MAX_SET_BYTES = 64 * 1024
const MAX_EVENTS = 16
const MAX_JTI_LENGTH = 512

function refuse (failure: Failure, transmitter: TransmitterConfig | null, description?: string): SetRefusal {
  return { failure: description === undefined ? failure : withDescription(failure, description), transmitter }
}

const SIGNATURE_REFUSALS: Readonly<Record<SignatureProblem, [Failure, string | undefined]>> = {
  malformed: [Failures.SSF_SET_MALFORMED, 'The body is not a compact JWS'],
  encrypted: [Failures.SSF_SET_MALFORMED, 'Encrypted security event tokens (JWE) are not accepted; sign them (JWS)'],
  too_large: [Failures.SSF_SET_MALFORMED, `The security event token is larger than ${MAX_SET_BYTES} bytes`],
  issuer: [Failures.SSF_SET_ISSUER, undefined],
  algorithm: [Failures.SSF_SET_KEY, 'The algorithm is not one this transmitter may sign with'],
  key: [Failures.SSF_SET_KEY, 'No key of this transmitter matches the kid and algorithm'],
  signature: [Failures.SSF_SET_KEY, undefined]
}

function sameJson (a: unknown, b: unknown): boolean {
  const canonical = (value: unknown): unknown => isJsonObject(value)
    ? Object.fromEntries(Object.keys(value).sort().map((key) => [key, canonical(value[key])]))
    : Array.isArray(value) ? value.map(canonical) : value
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b))
}

/** RFC 7519 §4.1.3: a string or a list of strings, one of which must be ours. */
function addressedTo (aud: unknown, audiences: readonly string[]): boolean {
  const named = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : []
  return named.some((value) => typeof value === 'string' && audiences.includes(value))
}

/** RFC 8417 §2.2 and SSF 1.0 §4: the claims the receiver reads, typed. */
function readClaims (payload: Record<string, unknown>, transmitter: TransmitterKeyring, clockToleranceS: number): VerifiedSet | SetRefusal {
  const { jti, iat, exp, events, sub_id: subId, aud } = payload
  const config = transmitter.config
  if (!addressedTo(aud, config.audiences)) return refuse(Failures.SSF_SET_AUDIENCE, config)
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH || !jti.isWellFormed()) return refuse(Failures.SSF_SET_MALFORMED, config, 'The security event token has no usable jti')
  if (typeof iat !== 'number' || !Number.isFinite(iat)) return refuse(Failures.SSF_SET_MALFORMED, config, 'The security event token has no numeric iat')
  // RFC 8417 §2.2 leaves exp out of SETs; one that carries it is held to it.
  if (exp !== undefined && !(typeof exp === 'number' && exp > Date.now() / 1000 - clockToleranceS)) return refuse(Failures.SSF_SET_MALFORMED, config, 'The security event token has expired (exp)')
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
  return { transmitter, jti, iat, events: list as Array<[string, Record<string, unknown>]>, subject: subId ?? inEvents[0] }
}

/**
 * SETs (RFC 8417, SSF 1.0 §4) of `transmitters`: the signature as every IdP JWT's
 * (src/idp/signed-jwt.ts: compact JWS, the `iss` names a transmitter, one of its asymmetric
 * algorithms, one of its keys, its JWKS refetched for an unknown kid), then typ `secevent+jwt`
 * (never an access token, whose verifier refuses `events` and this typ in turn), `aud` one of
 * its audiences, `jti`, `iat` and `events`.
 */
export function createSetVerifier (transmitters: readonly TransmitterKeyring[], clockToleranceS: number): SetVerifier {
  const signed = createSignedJwtVerifier(transmitters, MAX_SET_BYTES)
  return async (token, only = null) => {
    const verdict = await signed(token)
    const named = verdict.issuer
    if (only !== null && named !== null && named !== only) return refuse(Failures.SSF_ACCESS_DENIED, only.config)
    if (!verdict.ok) {
      const [failure, description] = SIGNATURE_REFUSALS[verdict.problem]
      return refuse(failure, named?.config ?? only?.config ?? null, description)
    }
    const transmitter = verdict.issuer
    // RFC 8417 §2.3 and SSF 1.0 §4.1.1: explicit typing keeps a SET from passing as another JWT, and back.
    if (verdict.header.typ === null || mediaType(verdict.header.typ) !== 'secevent+jwt') return refuse(Failures.SSF_SET_MALFORMED, transmitter.config, 'The typ header must be secevent+jwt (SSF 1.0 §4.1.1)')
    return readClaims(verdict.payload, transmitter, clockToleranceS)
  }
}

export function isRefusal (value: VerifiedSet | SetRefusal): value is SetRefusal {
  return 'failure' in value
}
