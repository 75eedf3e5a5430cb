import { randomUUID } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import { FingerprintTable } from '../cache/fingerprint-table.js'
import { Failures } from '../errors.js'
import { addressDigest, type RevocationOrigin } from '../revocation/revocation-origin.js'
import { SEVERITY_OF, type Alert, type AlertType } from './alert.js'
import type { MonitorState } from './monitor-state.js'
import { cutJti, issuerKey, type RequestFacts, type TokenRef } from './sink.js'

/** Security monitor thresholds; 0 disables a rule. */
export interface MonitorConfig {
  readonly userFailuresPerHour: number
  readonly userTokenRequestsPerHour: number
  readonly ipFailuresPerHour: number
  /** More distinct client addresses than this for one jti within tokenIpWindowS: possible theft. */
  readonly tokenMaxIps: number
  readonly tokenIpWindowS: number
  /**
   * A revoked token presented this soon after its owner's own revocation, from
   * the same address (or after an identity provider's, whose address is not
   * the client's), is a client retrying: LOW, not CRITICAL. 0: always CRITICAL.
   */
  readonly revokedRetryWindowS: number
  /** Tokens whose last client address is remembered (LOCAL_CACHE_SIZE): reuse from the same address is not sent again. */
  readonly trackedTokens: number
}

export const HOUR_S = 3600
const MAX_PENDING = 10_000
const ACTIVITY_PER_USER_PER_FLUSH = 10
// While Redis (re)connects, counts wait locally this long before this replica counts them alone.
const HOLD_WHILE_CONNECTING_MS = 5000

/** Refusals that say something about the presented token (not a missing one, not our own outage). */
const VERIFICATION_FAILURES: ReadonlySet<string> = new Set([
  Failures.HEADER_MALFORMED, Failures.TOKEN_TOO_LARGE, Failures.TOKEN_MALFORMED, Failures.TOKEN_SIGNATURE,
  Failures.TOKEN_ALGORITHM, Failures.TOKEN_KEY_UNKNOWN, Failures.TOKEN_EXPIRED, Failures.TOKEN_NOT_YET_VALID,
  Failures.TOKEN_CLAIMS, Failures.TOKEN_WRONG_TYPE, Failures.TOKEN_REVOKED, Failures.TOKEN_TYP, Failures.TOKEN_KID_REQUIRED,
  Failures.CERTIFICATE_MISSING, Failures.CERTIFICATE_MISMATCH
].map((failure) => failure.reason))

export interface AlertFacts {
  /** The issuer of user_id and jti. */
  readonly iss?: string | null
  readonly user_id?: string | null
  readonly ip?: string | null
  /** Full jti: cut before it leaves the monitor. */
  readonly jti?: string | null
  readonly count?: number | null
  readonly threshold?: number | null
  readonly window_s?: number
  /** The request an alert about one request came from (its X-Request-Id). */
  readonly request_id?: string | null
  /** What the message says beyond its type (the issuer and what it names, a refusal's reason): never a token. */
  readonly detail?: string
}

export interface ActivityEvent {
  readonly timestamp: string
  readonly event: string
  readonly reason: string | null
  readonly ip: string | null
  readonly jti: string | null
}

export interface MonitorDeps {
  readonly config: MonitorConfig
  readonly state: MonitorState
  /** Used for a flush the shared state could not take, so this replica still alerts. */
  readonly fallback: MonitorState
  readonly flushMs: number
  /** Resolves once the alert is stored. */
  readonly onAlert: (alert: Alert) => Promise<void>
  /** `user`: the issuerKey of (iss, sub). */
  readonly onActivity: (user: string, event: ActivityEvent) => Promise<void>
  readonly onStateError: (message: string) => void
  /** Who revoked this token and when, when that was within the retry window (ReplicaState.recentOrigin). */
  readonly revocationOrigin?: (token: TokenRef) => RevocationOrigin | undefined
}

interface Use { readonly token: TokenRef, readonly ip: string }

/** A user's counts in a batch: keyed by issuerKey(iss, sub), with the pair kept for the alert. */
interface UserCount { readonly iss: string, readonly sub: string, n: number }

/**
 * Threat detection. The hot path only bumps local counters; a timer flushes
 * them in one batch to the shared sliding windows and raises alerts, each at
 * most once per subject and window across every replica.
 */
export class SecurityMonitor {
  readonly #deps: MonitorDeps
  readonly #timer: NodeJS.Timeout
  #userFailures = new Map<string, UserCount>()
  #userTokens = new Map<string, UserCount>()
  #ipFailures = new Map<string, number>()
  #uses: Use[] = []
  #activity: Array<[string, ActivityEvent]> = []
  readonly #lastAddress: FingerprintTable
  readonly #raisedHere = new LRUCache<string, true>({ max: MAX_PENDING, ttl: HOUR_S * 1000 })
  #flushing: Promise<void> | null = null
  #unreadySince: number | null = null

  constructor (deps: MonitorDeps) {
    this.#deps = deps
    this.#lastAddress = new FingerprintTable(deps.config.trackedTokens, deps.config.tokenIpWindowS * 1000)
    this.#timer = setInterval(() => { this.flush().catch(() => {}) }, deps.flushMs).unref()
  }

  /** A refused token; `token` only when its signature was valid. */
  failure (reason: string, token: TokenRef | null, facts: RequestFacts): void {
    if (!VERIFICATION_FAILURES.has(reason)) return
    const ip = facts.ip
    bump(this.#ipFailures, ip)
    if (token === null) return
    const { iss, sub, jti } = token
    const user = issuerKey(iss, sub)
    bumpUser(this.#userFailures, user, token)
    if (this.#activity.length < MAX_PENDING) {
      this.#activity.push([user, { timestamp: new Date().toISOString(), event: 'verification_failed', reason, ip, jti: cutJti(jti) }])
    }
    if (reason === Failures.TOKEN_REVOKED.reason) {
      this.#revokedUse(token, user, facts)
    } else if (reason === Failures.CERTIFICATE_MISSING.reason || reason === Failures.CERTIFICATE_MISMATCH.reason) {
      // A certificate-bound token (RFC 8705) without its certificate: someone holds a copy of it. Once per token.
      this.raise('bound_token_without_certificate', issuerKey(iss, jti), { iss, user_id: sub, ip, jti, window_s: HOUR_S, request_id: facts.id, detail: reason }).catch(() => {})
    }
  }

  /**
   * A revoked token presented: CRITICAL, unless it is its own client retrying
   * shortly after the revocation (LOW): the same address as the user's own
   * logout or revocation, or any address after an identity provider's.
   */
  #revokedUse (token: TokenRef, user: string, facts: RequestFacts): void {
    const { iss, sub, jti } = token
    const ip = facts.ip
    const origin = this.#deps.revocationOrigin?.(token)
    const recent = origin !== undefined && Date.now() - origin.at <= this.#deps.config.revokedRetryWindowS * 1000
    const sameClient = recent && (origin.address === null || origin.address === addressDigest(ip))
    const detail = origin === undefined ? undefined : describeOrigin(origin, sameClient)
    const type = sameClient ? 'revoked_token_retry' : 'revoked_token_use'
    this.raise(type, user, { iss, user_id: sub, ip, jti, window_s: HOUR_S, request_id: facts.id, detail }).catch(() => {})
  }

  /** A token pair issued for the subject of `token`. */
  issued (token: TokenRef): void {
    bumpUser(this.#userTokens, issuerKey(token.iss, token.sub), token)
  }

  /**
   * An accepted token: only one seen from a new address (or not seen within
   * the window) costs more than a table look-up. Keyed by (iss, jti), holding a
   * fingerprint of its last address: a token that switches addresses is sent
   * on every switch, so no new address is missed (but for a fingerprint
   * collision, 1 in 2^32 per switch, which the next switch makes up for).
   */
  used (token: TokenRef, facts: RequestFacts): void {
    if (this.#deps.config.tokenMaxIps <= 0) return
    // Read only here: the client address costs a proxy-addr walk.
    const ip = facts.ip
    const address = this.#lastAddress.fingerprint(ip)
    const iss = token.iss ?? ''
    if (this.#lastAddress.get(token.jti, iss) === address) return
    this.#lastAddress.set(token.jti, address, iss)
    if (this.#uses.length < MAX_PENDING) this.#uses.push({ token, ip })
  }

  /** Tokens whose last address is remembered (at most config.trackedTokens). */
  get trackedTokens (): number {
    return this.#lastAddress.size
  }

  /**
   * Raises `type` for `subject` unless it was raised within the window (by any
   * replica). A user's or token's subject is its issuerKey: alice of one issuer
   * never silences an alert about alice of another.
   */
  async raise (type: AlertType, subject: string, facts: AlertFacts): Promise<void> {
    const key = `${type}:${subject}`
    if (this.#raisedHere.has(key)) return
    const windowS = facts.window_s ?? HOUR_S
    this.#raisedHere.set(key, true, { ttl: windowS * 1000 })
    const first = await this.#shared(async (state) => await state.once(`dedup:${key}`, windowS))
    if (first) await this.#deps.onAlert(alertOf(type, facts, windowS))
  }

  /** Sends what was counted since the last flush; concurrent callers share one flush. */
  async flush (): Promise<void> {
    while (this.#flushing !== null) await this.#flushing
    this.#flushing = this.#flushBatch().finally(() => { this.#flushing = null })
    await this.#flushing
  }

  async close (): Promise<void> {
    clearInterval(this.#timer)
    await this.flush()
  }

  async #flushBatch (): Promise<void> {
    if (this.#deps.state.ready) {
      this.#unreadySince = null
    } else {
      this.#unreadySince ??= Date.now()
      if (Date.now() - this.#unreadySince < HOLD_WHILE_CONNECTING_MS) return
    }
    const { userFailures, userTokens, ipFailures, uses, activity } = this.#take()
    const { config } = this.#deps
    const perUser = new Map<string, number>()
    await Promise.all([
      ...[...userFailures].map(async ([user, { iss, sub, n }]) => await this.#window(`uf:${user}`, n, config.userFailuresPerHour, 'user_verification_failures', user, { iss, user_id: sub })),
      ...[...userTokens].map(async ([user, { iss, sub, n }]) => await this.#window(`ut:${user}`, n, config.userTokenRequestsPerHour, 'user_token_requests', user, { iss, user_id: sub })),
      ...[...ipFailures].map(async ([ip, n]) => await this.#window(`if:${ip}`, n, config.ipFailuresPerHour, 'ip_verification_failures', ip, { ip })),
      this.#distinctIps(uses),
      ...activity.flatMap(([sub, event]) => {
        const seen = (perUser.get(sub) ?? 0) + 1
        perUser.set(sub, seen)
        return seen > ACTIVITY_PER_USER_PER_FLUSH ? [] : [this.#deps.onActivity(sub, event).catch(() => {})]
      })
    ])
  }

  #take (): { userFailures: Map<string, UserCount>, userTokens: Map<string, UserCount>, ipFailures: Map<string, number>, uses: Use[], activity: Array<[string, ActivityEvent]> } {
    const taken = { userFailures: this.#userFailures, userTokens: this.#userTokens, ipFailures: this.#ipFailures, uses: this.#uses, activity: this.#activity }
    this.#userFailures = new Map()
    this.#userTokens = new Map()
    this.#ipFailures = new Map()
    this.#uses = []
    this.#activity = []
    return taken
  }

  async #window (key: string, n: number, threshold: number, type: AlertType, subject: string, facts: AlertFacts): Promise<void> {
    if (threshold <= 0) return
    const total = await this.#shared(async (state) => await state.count(key, n, HOUR_S)).catch(() => 0)
    if (total >= threshold) await this.raise(type, subject, { ...facts, count: total, threshold, window_s: HOUR_S }).catch(() => {})
  }

  /** Every token seen from a new address since the last flush, in one batched call. */
  async #distinctIps (uses: readonly Use[]): Promise<void> {
    const { tokenMaxIps, tokenIpWindowS } = this.#deps.config
    if (tokenMaxIps <= 0 || uses.length === 0) return
    const tokens = uses.map(({ token }) => issuerKey(token.iss, token.jti))
    const pairs = uses.map(({ ip }, i) => [`ips:${tokens[i]}`, ip] as const)
    const counts = await this.#shared(async (state) => await state.distinct(pairs, tokenIpWindowS)).catch(() => [])
    const raised: Array<Promise<void>> = []
    uses.forEach(({ token: { iss, sub, jti }, ip }, i) => {
      const ips = counts[i] ?? 0
      if (ips > tokenMaxIps) raised.push(this.raise('possible_token_theft', tokens[i], { iss, user_id: sub, jti, ip, count: ips, threshold: tokenMaxIps, window_s: tokenIpWindowS }).catch(() => {}))
    })
    await Promise.all(raised)
  }

  async #shared<T> (operation: (state: MonitorState) => Promise<T>): Promise<T> {
    try {
      return await operation(this.#deps.state)
    } catch (err) {
      if (this.#deps.state === this.#deps.fallback) throw err
      this.#deps.onStateError((err as Error).message)
      return await operation(this.#deps.fallback)
    }
  }
}

function bump (counts: Map<string, number>, key: string): void {
  const current = counts.get(key)
  if (current !== undefined) counts.set(key, current + 1)
  else if (counts.size < MAX_PENDING) counts.set(key, 1)
}

function bumpUser (counts: Map<string, UserCount>, user: string, token: TokenRef): void {
  const current = counts.get(user)
  if (current !== undefined) current.n++
  else if (counts.size < MAX_PENDING) counts.set(user, { iss: token.iss ?? '', sub: token.sub, n: 1 })
}

const DESCRIBE: Readonly<Record<AlertType, (facts: AlertFacts) => string>> = {
  user_verification_failures: (f) => `${f.count ?? 0} token verification failures for one user within an hour (threshold ${f.threshold ?? 0})`,
  user_token_requests: (f) => `${f.count ?? 0} token requests for one user within an hour (threshold ${f.threshold ?? 0})`,
  ip_verification_failures: (f) => `${f.count ?? 0} token verification failures from one client address within an hour (threshold ${f.threshold ?? 0})`,
  revoked_token_use: (f) => f.detail === undefined ? 'a revoked token was presented' : `a revoked token was presented: ${f.detail}`,
  revoked_token_retry: (f) => `a revoked token was presented again by its own client: ${f.detail ?? ''}`,
  refresh_token_reuse: () => 'a rotated refresh token was presented again; its session has been revoked',
  possible_token_theft: (f) => `possible token theft: one token presented from ${f.count ?? 0} client addresses within ${f.window_s ?? 0} s (more than ${f.threshold ?? 0})`,
  idp_revocation_dropped: (f) => `a revocation pushed by an identity provider was never stored and is enforced nowhere but where it arrived: ${f.detail ?? ''}`,
  invalid_idp_message: (f) => `an invalid logout token, security event or revocation request came from a configured identity provider: ${f.detail ?? ''}`,
  ssf_subject_unmapped: (f) => `a Shared Signals event named a subject that cannot be mapped onto tokens, so nothing was revoked: ${f.detail ?? ''}`,
  dpop_proof_replayed: () => 'a DPoP proof was presented again (someone holds a copy of a proof)',
  bound_token_without_key: (f) => `a sender-constrained token was presented without proof of its key (a stolen token): ${f.detail ?? ''}`,
  bound_token_without_certificate: (f) => `a certificate-bound token was presented without its client certificate (${f.detail ?? ''}): someone else holds a copy of it`,
}

function describeOrigin (origin: RevocationOrigin, sameClient: boolean): string {
  const ago = `revoked ${Math.max(0, Math.round((Date.now() - origin.at) / 1000))} s before`
  if (origin.address === null) return `${ago} by its identity provider, which the client may not know yet`
  return sameClient ? `${ago} by its owner from the same client address` : `${ago} by its owner from another client address`
}

function alertOf (type: AlertType, facts: AlertFacts, windowS: number): Alert {
  return {
    id: randomUUID(),
    timestamp: new Date().toISOString(),
    severity: SEVERITY_OF[type],
    type,
    message: DESCRIBE[type](facts),
    iss: facts.iss ?? null,
    user_id: facts.user_id ?? null,
    ip: facts.ip ?? null,
    jti: cutJti(facts.jti),
    count: facts.count ?? null,
    threshold: facts.threshold ?? null,
    window_s: windowS,
    request_id: facts.request_id ?? null
  }
}
