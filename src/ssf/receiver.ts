import { Failures, withDescription, type Failure } from '../errors.js'
import type { TransmitterConfig } from './options.js'
import { actionOf, eventLabel } from './events.js'
import { createSetVerifier, isRefusal, type SetVerifier, type TransmitterKeyring, type VerifiedSet } from './set-verifier.js'
import { isUnmapped, mapSubject } from './subjects.js'

export type Delivery = 'push' | 'poll'

/**
 * What happened to one SET: acknowledged (202, `ack`), refused (RFC 8935 §2.3, RFC 8936 `setErrs`),
 * or not stored (503, no `ack`: the transmitter delivers it again).
 */
export type SetOutcome =
  | { readonly result: 'applied' | 'duplicate' | 'ignored' | 'verification', readonly jti: string }
  | { readonly result: 'refused' | 'unavailable', readonly failure: Failure, readonly jti: string | null }

/** One revocation a SET asks for, in the terms of marks. */
export interface SsfRevocation {
  readonly source: 'ssf_push' | 'ssf_poll'
  readonly kind: 'session' | 'user'
  /** The trusted JWT issuer whose tokens it applies to. */
  readonly issuer: string
  readonly id: string
  /** The user the subject also named (a session revocation's audit record). */
  readonly subject: string | null
  readonly transmitter: string
  /** The event's bounded label (session-revoked, credential-change, …). */
  readonly event: string
  readonly jti: string
}

/**
 * Applies a revocation (the IdP core's enforce): enforced on this replica at once, then `stored`
 * (every replica enforces it), `queued` (its write retried) or `dropped` (never stored: CRITICAL alert).
 */
export type Enforce = (revocation: SsfRevocation) => Promise<'stored' | 'queued' | 'dropped'>

/** (scope, id) claimed once across replicas (the IdP core's ReplayGuard); rejects when it cannot know. */
export interface SetReplayGuard {
  claim: (scope: string, id: string, untilS: number) => Promise<boolean>
}

/** What the receiver reports: every outcome counted, refusals from configured transmitters alerted. */
export interface ReceiverReport {
  set: (delivery: Delivery, outcome: SetOutcome, transmitter: TransmitterConfig | null) => void
  event: (delivery: Delivery, event: string, outcome: string) => void
  /** A SET from a configured transmitter was refused (invalid, or an unmappable subject): an alert. */
  refusedFromTransmitter: (transmitter: TransmitterConfig, failure: Failure, jti: string | null) => void
  verification: (transmitter: TransmitterConfig, state: string | null) => void
}

export interface ReceiverOptions {
  readonly transmitters: readonly TransmitterKeyring[]
  readonly guard: SetReplayGuard
  readonly enforce: Enforce
  readonly report: ReceiverReport
  readonly replayWindowS: number
  readonly clockToleranceS: number
  readonly now?: () => number
}

/** The revocations a verified SET asks for, or why its subject names nothing revocable. */
function revocationsOf (set: VerifiedSet, delivery: Delivery): SsfRevocation[] | Failure {
  const config = set.transmitter.config
  const out: SsfRevocation[] = []
  for (const [type] of set.events) {
    const action = actionOf(type)
    if (action !== 'session' && action !== 'user') continue
    const mapped = mapSubject(set.subject, config)
    if (isUnmapped(mapped)) return withDescription(Failures.SSF_SUBJECT_UNMAPPED, `${Failures.SSF_SUBJECT_UNMAPPED.description}: ${mapped.unmapped}`)
    const base = { source: delivery === 'push' ? 'ssf_push' as const : 'ssf_poll' as const, issuer: config.revokes, transmitter: config.issuer, event: eventLabel(type), jti: set.jti }
    // CAEP 1.0 §3.1: a session named is that session; without one (or an issuer whose tokens carry
    // no session claim) every session of the user, which is the user's tokens (fail-secure).
    const sessions = action === 'session' && config.sessionClaim !== null ? mapped.sessions : []
    if (sessions.length > 0) for (const id of sessions) out.push({ ...base, kind: 'session', id, subject: mapped.users[0] ?? null })
    else if (mapped.users.length > 0) for (const id of mapped.users) out.push({ ...base, kind: 'user', id, subject: id })
    else return withDescription(Failures.SSF_SUBJECT_UNMAPPED, `${Failures.SSF_SUBJECT_UNMAPPED.description}: a session subject names no user for a user-wide event`)
  }
  return out
}

/**
 * Receives one SET, by push or poll: verified, its subject mapped, its (iss, jti) claimed once
 * for SSF_REPLAY_WINDOW whatever its iat (polled SETs arrive late; an older one is refused, as it
 * could no longer be told from a replay), then each revocation enforced. A subject that maps
 * onto nothing is a refusal and an alert: never an acknowledgement that revoked nothing.
 */
export class SetReceiver {
  readonly #options: ReceiverOptions
  readonly #verify: SetVerifier
  readonly #now: () => number

  constructor (options: ReceiverOptions) {
    this.#options = options
    this.#verify = createSetVerifier(options.transmitters, options.clockToleranceS)
    this.#now = options.now ?? Date.now
  }

  async receive (token: string, delivery: Delivery, pushedBy: TransmitterKeyring | null = null): Promise<SetOutcome> {
    const { report } = this.#options
    const verified = await this.#verify(token, pushedBy)
    if (isRefusal(verified)) {
      const outcome: SetOutcome = { result: 'refused', failure: verified.failure, jti: null }
      if (verified.transmitter !== null) report.refusedFromTransmitter(verified.transmitter, verified.failure, null)
      report.set(delivery, outcome, verified.transmitter)
      return outcome
    }
    const outcome = await this.#apply(verified, delivery)
    const config = verified.transmitter.config
    if (outcome.result === 'refused') report.refusedFromTransmitter(config, outcome.failure, verified.jti)
    report.set(delivery, outcome, config)
    return outcome
  }

  async #apply (set: VerifiedSet, delivery: Delivery): Promise<SetOutcome> {
    const { guard, enforce, report, replayWindowS, clockToleranceS } = this.#options
    const config = set.transmitter.config
    const nowS = this.#now() / 1000
    if (set.iat < nowS - replayWindowS) return { result: 'refused', failure: withDescription(Failures.SSF_SET_MALFORMED, 'The security event token was issued before SSF_REPLAY_WINDOW: it cannot be told from a replay'), jti: set.jti }
    if (set.iat > nowS + clockToleranceS) return { result: 'refused', failure: withDescription(Failures.SSF_SET_MALFORMED, 'The security event token was issued in the future (iat)'), jti: set.jti }
    const revocations = revocationsOf(set, delivery)
    if (!Array.isArray(revocations)) return { result: 'refused', failure: revocations, jti: set.jti }
    let first: boolean | null
    try {
      first = await guard.claim(`ssf:${config.issuer}`, set.jti, Math.ceil(nowS) + replayWindowS)
    } catch {
      // Whether it was seen cannot be known (Redis down): enforced here all the same (revoking
      // again is safe), and answered "try again", never "accepted", as back-channel logout does.
      first = null
    }
    // RFC 8417 §2.2: the jti tells a retransmission apart. It is acknowledged again (or the
    // transmitter would deliver it forever), never applied again: a replayed user-wide event
    // would otherwise revoke every token issued since. A first delivery answered 503 (write
    // queued) was enforced where it arrived and its write is retried there.
    if (first === false) return { result: 'duplicate', jti: set.jti }
    let stored = first === true
    for (const revocation of revocations) {
      try {
        stored = (await enforce(revocation)) === 'stored' && stored
      } catch {
        stored = false
      }
    }
    for (const [type, payload] of set.events) {
      const action = actionOf(type)
      if (action === 'verify') report.verification(config, typeof payload.state === 'string' ? payload.state.slice(0, 256) : null)
      report.event(delivery, eventLabel(type), action === 'ignore' ? 'ignored' : action === 'verify' ? 'verification' : stored ? 'applied' : 'not_stored')
    }
    // Enforced on this replica, but not in the store (or its jti not): never a 2xx (design.md, fail-secure writes).
    if (!stored) return { result: 'unavailable', failure: Failures.STORE_UNAVAILABLE, jti: set.jti }
    if (revocations.length > 0) return { result: 'applied', jti: set.jti }
    const verification = set.events.some(([type]) => actionOf(type) === 'verify')
    return { result: verification ? 'verification' : 'ignored', jti: set.jti }
  }
}
