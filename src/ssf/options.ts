/** What the Shared Signals receiver is built from; `src/config/ssf-transmitters.ts` maps SSF_TRANSMITTERS onto it. */
import type { AsymmetricAlgorithm } from '../tokens/algorithms.js'

/** RFC 9493 formats (and SSF 1.0 §3.2 `complex`) a transmitter may name a user or session with. */
export const SUBJECT_FORMATS = ['iss_sub', 'email', 'opaque', 'phone_number', 'account', 'did', 'uri'] as const
export type SubjectFormat = typeof SUBJECT_FORMATS[number]

/** How tokengate authenticates to a transmitter (its poll endpoint and stream management API). */
export type OutboundAuth =
  | { readonly kind: 'none' }
  | { readonly kind: 'bearer', readonly token: string }
  | {
    readonly kind: 'client_credentials'
    readonly tokenUrl: Readonly<URL>
    readonly clientId: string
    readonly clientSecret: string
    readonly scope: string | null
  }

export interface PushDelivery {
  /** The exact Authorization header value the transmitter sends (RFC 8935 §2, SSF §6.1.1 `authorization_header`). */
  readonly authorization: string
  /** tokengate's push endpoint as the transmitter reaches it: given to the transmitter when a stream is managed. */
  readonly endpointUrl: Readonly<URL> | null
}

export interface PollDelivery {
  /** The transmitter's RFC 8936 endpoint; null: the one the managed stream names. */
  readonly endpoint: Readonly<URL> | null
  /** `maxEvents` per request (RFC 8936 §2.4). */
  readonly maxEvents: number
  /** How long the transmitter may hold a long poll (`returnImmediately: false`), in seconds. */
  readonly waitS: number
}

export interface StreamManagement {
  /** Create the stream when none exists, or check the one there (SSF §7.1). */
  readonly manage: boolean
  /** `events_requested`; empty: every event type the receiver acts on. */
  readonly eventsRequested: readonly string[]
}

/** One SSF_TRANSMITTERS entry. */
export interface TransmitterConfig {
  /** The exact `iss` of its SETs and of its SSF metadata. */
  readonly issuer: string
  /** Its JWKS; null when read from its SSF metadata (`metadataUrl`). */
  readonly jwksUrl: Readonly<URL> | null
  /** `{issuer}/.well-known/ssf-configuration` (SSF §6.2.1) or the URL configured; null with jwks_uri and no stream management. */
  readonly metadataUrl: Readonly<URL> | null
  /** Its SETs must carry one of these in `aud`. */
  readonly audiences: readonly string[]
  /** Asymmetric algorithms accepted from it (RFC 8725 §3.1). */
  readonly algorithms: readonly AsymmetricAlgorithm[]
  readonly push: PushDelivery | null
  readonly poll: PollDelivery | null
  readonly auth: OutboundAuth
  readonly stream: StreamManagement
  /** The trusted JWT issuer (a JWT_ISSUERS entry) whose tokens its revocations apply to. */
  readonly revokes: string
  /** The issuer's session claim; null when its tokens carry no session (session-revoked then revokes the user). */
  readonly sessionClaim: string | null
  /** Subject formats whose identifier is the token's `sub` (identifiers of other formats cannot be mapped). */
  readonly userFormats: readonly SubjectFormat[]
  /** `iss` values accepted in an `iss_sub` subject: by default the trusted issuer's and the transmitter's. */
  readonly subjectIssuers: readonly string[]
}

export interface SsfConfig {
  readonly transmitters: readonly TransmitterConfig[]
  /** How long a (iss, jti) is remembered: polled SETs arrive late, so it is independent of iat. */
  readonly replayWindowS: number
  /** Timeout of every request to a transmitter (metadata, JWKS, poll, stream, token endpoint), long polls excepted. */
  readonly requestTimeoutMs: number
  /** NODE_ENV=development: transmitter URLs may be http:. */
  readonly allowHttp: boolean
}
