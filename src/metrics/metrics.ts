import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import { BufferedCounter, type CounterCell } from './buffered-counter.js'
import { BufferedHistogram, type HistogramCell } from './buffered-histogram.js'
import { CheckStats } from './check-stats.js'
import type { BreakerState } from '../revocation/breaker.js'

/** What the revocation state gauges read at scrape time (the replica's state). */
export interface StateView {
  readonly stalenessMs: number
  readonly reloads: number
  readonly marks: { size: (now: number) => number, readonly bytes: number }
}

/** One issuer's JWKS as the JWKS families read it at scrape time (jwks.ts JwksStats). */
export interface JwksView {
  readonly stats: {
    readonly issuer: string
    readonly keys: number
    readonly fetched: number
    readonly failed: number
    readonly lastSuccessMs: number
  }
}

/** What tokengate_build_info says. */
export interface BuildInfo { readonly version: string }

/** What the Cluster roll-forward gauges read at scrape time (the Redis store). */
export interface RollForwardStats { readonly pending: number, readonly dropped: number }

/** What the IdP retry-queue gauge reads at scrape time (src/idp/). */
export interface IdpQueueView { readonly depth: number }

export interface UpstreamCells { readonly duration: HistogramCell, readonly responses: CounterCell }

const BREAKER_VALUE: Readonly<Record<BreakerState, number>> = { closed: 0, half_open: 1, open: 2 }

/** Sub-millisecond resolution where a cached or pipelined lookup lands, up to the 50 ms default budget and past it. */
const CHECK_BUCKETS_S = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1]
/** From a cached token (a few µs) through a verification (tens of µs) to a JWKS fetch or a store lookup. */
const DECISION_BUCKETS_S = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 0.05, 0.25, 1]
const UPSTREAM_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

// The one rule for every family here: a family written on every request (decisions,
// revocation checks, upstream responses) is a buffered cell (BufferedCounter /
// BufferedHistogram / CheckStats: a plain increment, folded into prom-client at
// scrape time); every other family is plain prom-client.

/**
 * One registry per gateway instance (tests build several in one process), with
 * the tokengate_* families. Labels are bounded: reasons from the Failure
 * registry, mark kinds, severities, modes, issuers and status classes.
 */
export class GatewayMetrics {
  readonly registry = new Registry()
  readonly checks: CheckStats
  readonly decisions: BufferedCounter<'result' | 'reason'>
  readonly decisionDuration: BufferedHistogram<'mode' | 'outcome'>
  readonly revocations: Counter<'kind' | 'reason'>
  readonly refreshRotations: Counter
  /** Sender-constrained tokens refused, by binding (mtls) and reason (certificate-binding.ts). */
  readonly senderConstraintFailures: Counter<'binding' | 'reason'>
  readonly refreshReuse: Counter
  readonly alerts: Counter<'severity' | 'type'>
  readonly webhookDeliveries: Counter<'result'>
  readonly clientAuthFailures: Counter<'endpoint' | 'reason'>
  readonly requestRefusals: Counter<'mode' | 'reason'>
  readonly dpopFailures: Counter<'reason'>
  readonly upstreamDuration: BufferedHistogram<'status_class'>
  readonly upstreamResponses: BufferedCounter<'status_class'>
  readonly idpRevocations: Counter<'source' | 'kind' | 'outcome'>
  readonly idpRetries: Counter<'result'>
  readonly idpDropped: Counter<'reason'>
  readonly idpMessages: Counter<'source' | 'result'>
  readonly idpRelays: Counter<'result'>
  readonly ssfEvents: Counter<'delivery' | 'event' | 'outcome'>
  readonly ssfPolls: Counter<'result'>
  readonly ssfStreams: Counter<'result'>
  readonly ssfVerifications: Counter<'result'>
  readonly ssfMetadata: Counter<'result'>
  readonly configReloads: Counter<'result'>
  #ssfPollers: () => number = () => 0
  readonly #upstreamCells = new Map<string, UpstreamCells>()
  #breaker: () => BreakerState = () => 'closed'
  #state: StateView | null = null
  #rollForward: () => RollForwardStats = () => ({ pending: 0, dropped: 0 })
  #jwks: readonly JwksView[] = []
  #idpQueue: IdpQueueView | null = null

  constructor (build: BuildInfo = { version: 'unknown' }) {
    const registers = [this.registry]
    collectDefaultMetrics({ register: this.registry })
    // Gauges that prom-client names *_total, which promtool's linter refuses: their labelled
    // siblings (nodejs_active_handles{type}, …) carry the same numbers.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name)
    const duration = new BufferedHistogram<'outcome'>({
      name: 'tokengate_revocation_check_duration_seconds',
      help: 'Revocation lookups that went to the store because the local state was older than MAX_STALENESS_MS (local answers are counted in tokengate_revocation_cache_hits_total)',
      labelNames: ['outcome'],
      buckets: CHECK_BUCKETS_S,
      registers
    })
    const hits = new BufferedCounter({ name: 'tokengate_revocation_cache_hits_total', help: 'Revocation checks answered from the complete local revocation state', registers }).cell()
    const misses = new Counter({ name: 'tokengate_revocation_cache_misses_total', help: 'Revocation checks that needed a store lookup (local state older than MAX_STALENESS_MS)', registers })
    const storeErrors = new Counter({ name: 'tokengate_store_errors_total', help: 'Store lookups that failed (error) or ran past REVOCATION_CHECK_TIMEOUT_MS (timeout)', labelNames: ['kind'], registers })
    // Counters the alert rules take increase() of are exported at 0 from the start: a
    // series born at 1 hides its first event from increase() (the first CRITICAL alert).
    for (const kind of ['error', 'timeout']) storeErrors.inc({ kind }, 0)
    this.checks = new CheckStats({ duration, hits, misses, storeErrors })
    this.decisions = new BufferedCounter({ name: 'tokengate_decisions_total', help: 'Token decisions by result (allow, deny) and reason', labelNames: ['result', 'reason'], registers })
    this.decisionDuration = new BufferedHistogram({ name: 'tokengate_decision_duration_seconds', help: 'Time of one decision (public path, token, revocation, access rules) by mode (forward_auth, proxy) and outcome (allowed, denied, public); a JWKS fetch or a store lookup included', labelNames: ['mode', 'outcome'], buckets: DECISION_BUCKETS_S, registers })
    this.revocations = new Counter({ name: 'tokengate_revocations_total', help: 'Revocation marks written by this replica, by kind (jti, session, user, global) and operation', labelNames: ['kind', 'reason'], registers })
    this.senderConstraintFailures = new Counter({ name: 'tokengate_sender_constraint_failures_total', help: 'Sender-constrained tokens refused, by binding (mtls) and reason (certificate_missing, certificate_mismatch, certificate_malformed, not_sender_constrained)', labelNames: ['binding', 'reason'], registers })
    this.refreshRotations = new Counter({ name: 'tokengate_refresh_rotations_total', help: 'Refresh tokens rotated into a new pair', registers })
    this.refreshReuse = new Counter({ name: 'tokengate_refresh_reuse_total', help: 'Rotated refresh tokens presented again (the session was revoked)', registers })
    this.alerts = new Counter({ name: 'tokengate_security_alerts_total', help: 'Security alerts raised, by severity and rule', labelNames: ['severity', 'type'], registers })
    this.webhookDeliveries = new Counter({ name: 'tokengate_alert_webhook_deliveries_total', help: 'Alert webhook outcomes: delivered, failed (after retries), dropped (queue full)', labelNames: ['result'], registers })
    for (const result of ['delivered', 'failed', 'dropped']) this.webhookDeliveries.inc({ result }, 0)
    this.clientAuthFailures = new Counter({ name: 'tokengate_oauth_client_auth_failures_total', help: 'Failed client authentications on /oauth/* by endpoint and reason (missing, malformed, multiple_methods, rejected, rate_limited)', labelNames: ['endpoint', 'reason'], registers })
    this.requestRefusals = new Counter({ name: 'tokengate_request_refusals_total', help: 'Requests refused before the decision (path, override, original URI, request target), by mode (proxy, forward_auth) and reason', labelNames: ['mode', 'reason'], registers })
    this.dpopFailures = new Counter({ name: 'tokengate_dpop_failures_total', help: 'Requests refused by the DPoP checks (RFC 9449), by reason (the error registry\'s dpop_* reasons)', labelNames: ['reason'], registers })
    this.upstreamDuration = new BufferedHistogram({ name: 'tokengate_upstream_duration_seconds', help: 'Proxied requests, from forwarding to the response sent', labelNames: ['status_class'], buckets: UPSTREAM_BUCKETS_S, registers })
    this.upstreamResponses = new BufferedCounter({ name: 'tokengate_upstream_responses_total', help: 'Proxied responses by status class (502/504: upstream unreachable or slow)', labelNames: ['status_class'], registers })
    this.idpRevocations = new Counter({ name: 'tokengate_idp_revocations_total', help: 'Revocations pushed by identity providers, by source, kind (session, user) and outcome (stored; queued: enforced here, write retried; dropped: queue full)', labelNames: ['source', 'kind', 'outcome'], registers })
    this.idpRetries = new Counter({ name: 'tokengate_idp_retry_attempts_total', help: 'Retried writes of queued IdP revocations, by result (stored, failed)', labelNames: ['result'], registers })
    this.idpDropped = new Counter({ name: 'tokengate_idp_revocations_dropped_total', help: 'IdP revocations never stored (queue_full, too_old): each raised a CRITICAL idp_revocation_dropped alert', labelNames: ['reason'], registers })
    for (const reason of ['queue_full', 'too_old']) this.idpDropped.inc({ reason }, 0)
    this.idpMessages = new Counter({ name: 'tokengate_idp_messages_total', help: 'Logout tokens, security events and revocation requests received, by source and result (accepted, queued, or the refusal reason)', labelNames: ['source', 'result'], registers })
    this.idpRelays = new Counter({ name: 'tokengate_backchannel_relays_total', help: 'Validated logout tokens relayed to the application\'s own back-channel logout URI, by result (delivered, failed, timeout)', labelNames: ['result'], registers })
    this.ssfEvents = new Counter({ name: 'tokengate_ssf_events_total', help: 'Events of accepted Shared Signals SETs, by delivery (push, poll), event (session-revoked, credential-change, ..., other) and outcome (applied, not_stored, ignored, verification)', labelNames: ['delivery', 'event', 'outcome'], registers })
    this.ssfPolls = new Counter({ name: 'tokengate_ssf_polls_total', help: 'RFC 8936 poll requests this replica sent, by result (ok, error)', labelNames: ['result'], registers })
    this.ssfStreams = new Counter({ name: 'tokengate_ssf_stream_checks_total', help: 'SSF stream management at start-up, by result (created, matching, mismatch, failed)', labelNames: ['result'], registers })
    this.ssfVerifications = new Counter({ name: 'tokengate_ssf_verifications_total', help: 'SSF verification events received, by result (matched, unexpected_state, unsolicited)', labelNames: ['result'], registers })
    this.ssfMetadata = new Counter({ name: 'tokengate_ssf_metadata_reads_total', help: 'SSF transmitter metadata read at start-up, by result (ok, failed)', labelNames: ['result'], registers })
    for (const result of ['failed', 'mismatch']) this.ssfStreams.inc({ result }, 0)
    this.ssfMetadata.inc({ result: 'failed' }, 0)
    // Not tokengate_revocation_state_reloads_total: that one counts reloads of revocation data.
    this.configReloads = new Counter({ name: 'tokengate_config_reloads_total', help: 'Reloads of the configuration (SIGHUP, a watched file changed), by result: success (swapped), failure (invalid or needing a restart: the previous configuration kept)', labelNames: ['result'], registers })
    for (const result of ['success', 'failure']) this.configReloads.inc({ result }, 0)
    this.ssfPolls.inc({ result: 'error' }, 0)
    const ssfPollers = (): number => this.#ssfPollers()
    // eslint-disable-next-line no-new
    new Gauge({
      name: 'tokengate_ssf_pollers_active',
      help: 'Transmitters this replica polls now (it holds their lease)',
      registers,
      collect () { this.set(ssfPollers()) }
    })
    const idpQueue = (): IdpQueueView | null => this.#idpQueue
    // eslint-disable-next-line no-new
    new Gauge({
      name: 'tokengate_idp_retry_queue_depth',
      help: 'IdP revocations enforced on this replica whose write to the store is still being retried',
      registers,
      collect () { this.set(idpQueue()?.depth ?? 0) }
    })
    const breaker = (): BreakerState => this.#breaker()
    // eslint-disable-next-line no-new
    new Gauge({
      name: 'tokengate_breaker_state',
      help: 'Store circuit breaker: 0 closed, 1 half-open, 2 open',
      registers,
      // Summed over cluster workers it would read 4 for two open breakers: the worst one is the state.
      aggregator: 'max',
      collect () { this.set(BREAKER_VALUE[breaker()] ?? 0) }
    })
    const state = (): StateView | null => this.#state
    // eslint-disable-next-line no-new
    new Gauge({
      name: 'tokengate_revocation_state_staleness_seconds',
      help: 'How old the local revocation state may be (+Inf before it was loaded); past MAX_STALENESS_MS it no longer decides alone',
      registers,
      aggregator: 'max',
      collect () { this.set((state()?.stalenessMs ?? 0) / 1000) }
    })
    // eslint-disable-next-line no-new
    new Gauge({
      name: 'tokengate_revocation_state_marks',
      help: 'Live revocation marks held by this replica',
      registers,
      aggregator: 'max',
      collect () { this.set(state()?.marks.size(Math.floor(Date.now() / 1000)) ?? 0) }
    })
    // eslint-disable-next-line no-new
    new Gauge({
      name: 'tokengate_revocation_state_bytes',
      help: 'Memory held by the local revocation state',
      registers,
      aggregator: 'max',
      collect () { this.set(state()?.marks.bytes ?? 0) }
    })
    let reloads = 0
    // eslint-disable-next-line no-new
    new Counter({
      name: 'tokengate_revocation_state_reloads_total',
      help: 'Full reloads of the revocation state after start (log trimmed past this replica, or a failover lost entries)',
      registers,
      collect () {
        const now = state()?.reloads ?? 0
        this.inc(now - reloads)
        reloads = now
      }
    })
    // eslint-disable-next-line no-new
    new Gauge({
      name: 'tokengate_build_info',
      help: 'Always 1: the version of tokengate and of Node.js this process runs',
      labelNames: ['version', 'node'],
      registers,
      aggregator: 'max',
      collect () { this.set({ version: build.version, node: process.version }, 1) }
    })
    this.#jwksFamilies(registers)
    const rollForward = (): RollForwardStats => this.#rollForward()
    // eslint-disable-next-line no-new
    new Gauge({
      name: 'tokengate_revocation_rollforward_pending',
      help: 'Cluster revocations answered 503 after their log entry was written, whose index record and mark are still being retried',
      registers,
      collect () { this.set(rollForward().pending) }
    })
    let dropped = 0
    // eslint-disable-next-line no-new
    new Counter({
      name: 'tokengate_revocation_rollforward_dropped_total',
      help: 'Cluster revocations whose remaining steps this process gave up (queue full, shutdown); replicas finish them from the log after 60 s',
      registers,
      collect () {
        const now = rollForward().dropped
        this.inc(now - dropped)
        dropped = now
      }
    })
  }

  /** The issuers' JWKS key sets the JWKS families read at scrape time. */
  watchJwks (keySets: readonly JwksView[]): void {
    this.#jwks = keySets
  }

  // Labelled by issuer: the configured issuers, a bounded set.
  #jwksFamilies (registers: Registry[]): void {
    const keySets = (): readonly JwksView[] => this.#jwks
    const seen = new Map<string, { fetched: number, failed: number }>()
    // eslint-disable-next-line no-new
    new Counter({
      name: 'tokengate_jwks_fetches_total',
      help: 'JWKS fetches by issuer and result: ok (the keys were replaced), failed (the previous keys were kept)',
      labelNames: ['issuer', 'result'],
      registers,
      collect () {
        for (const { stats } of keySets()) {
          const last = seen.get(stats.issuer) ?? { fetched: 0, failed: 0 }
          this.inc({ issuer: stats.issuer, result: 'ok' }, stats.fetched - last.fetched)
          this.inc({ issuer: stats.issuer, result: 'failed' }, stats.failed - last.failed)
          seen.set(stats.issuer, { fetched: stats.fetched, failed: stats.failed })
        }
      }
    })
    // eslint-disable-next-line no-new
    new Gauge({
      name: 'tokengate_jwks_keys',
      help: 'Usable keys in each issuer\'s JWKS (0 before its first successful fetch)',
      labelNames: ['issuer'],
      registers,
      aggregator: 'min',
      collect () { for (const { stats } of keySets()) this.set({ issuer: stats.issuer }, stats.keys) }
    })
    // eslint-disable-next-line no-new
    new Gauge({
      name: 'tokengate_jwks_last_success_timestamp_seconds',
      help: 'When each issuer\'s JWKS was last fetched successfully (0: never)',
      labelNames: ['issuer'],
      registers,
      aggregator: 'min',
      collect () {
        for (const { stats } of keySets()) this.set({ issuer: stats.issuer }, Number.isFinite(stats.lastSuccessMs) ? stats.lastSuccessMs / 1000 : 0)
      }
    })
  }

  /** Where the Cluster roll-forward families read at scrape time (the Redis store). */
  watchRollForward (read: () => RollForwardStats): void {
    this.#rollForward = read
  }

  /** Where the IdP retry-queue gauge reads at scrape time. */
  watchIdpQueue (view: IdpQueueView): void {
    this.#idpQueue = view
  }

  /** Where the revocation state gauges read at scrape time. */
  watchState (view: StateView): void {
    this.#state = view
  }

  /**
   * The upstream families' cells for one status class. No route label: the proxy has one
   * catch-all route, so its pattern (`/*`) said nothing, and a raw path would be unbounded.
   */
  upstreamCells (statusClass: string): UpstreamCells {
    const key = statusClass
    let cells = this.#upstreamCells.get(key)
    if (cells === undefined) {
      const labels = { status_class: statusClass }
      cells = { duration: this.upstreamDuration.cell(labels), responses: this.upstreamResponses.cell(labels) }
      this.#upstreamCells.set(key, cells)
    }
    return cells
  }

  /** Where the SSF pollers gauge reads at scrape time. */
  watchSsfPollers (read: () => number): void {
    this.#ssfPollers = read
  }

  /** Where the breaker state is read at scrape time. */
  watchBreaker (read: () => BreakerState): void {
    this.#breaker = read
  }

  breakerState (): BreakerState {
    return this.#breaker()
  }

  async text (): Promise<string> {
    return await this.registry.metrics()
  }
}
