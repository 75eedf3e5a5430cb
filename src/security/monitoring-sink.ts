import type { CounterCell } from '../metrics/buffered-counter.js'
import type { GatewayMetrics } from '../metrics/metrics.js'
import type { RedisConfig } from '../redis/redis-client.js'
import { ANY_ISSUER } from '../revocation/issuer-scope.js'
import { SEVERITY_OF, type Alert, type AlertType, type Severity } from './alert.js'
import { groupByType, type AlertGroup } from './alert-groups.js'
import { AuditLog, type AuditLogger, type AuditTrail } from './audit-log.js'
import type { AuditFields } from './audit-chain.js'
import { MemoryMonitorState } from './memory-state.js'
import type { MonitorState } from './monitor-state.js'
import { SecurityMonitor, type ActivityEvent, type MonitorConfig, type MonitorDeps } from './monitor.js'
import { RedisMonitorState } from './redis-state.js'
import { cutJti, issuerKey, type AuditEntry, type RequestFacts, type SecuritySink, type TokenRef } from './sink.js'
import { AlertWebhook, type WebhookState } from './webhook.js'

const FLUSH_MS = 200
const DAY_S = 86_400
// Per alert type, hence per severity: a flood of one type never pushes another out of the list.
const ALERTS_KEPT_PER_TYPE = 1000
const ALERT_TYPES = Object.keys(SEVERITY_OF) as AlertType[]
const ACTIVITY_KEPT = 100
const AUDIT_KEPT = 10_000
// Refused request ids remembered to count a proxy's re-ask once: far more than refusals in flight.
const REFUSALS_REMEMBERED = 4096

/** The last `size` ids, in a ring: `seen` says whether an id is among them, and remembers it. */
class RecentIds {
  readonly #ring: Array<string | undefined>
  readonly #held = new Set<string>()
  #next = 0

  constructor (size: number) {
    this.#ring = new Array<string | undefined>(size)
  }

  seen (id: string): boolean {
    if (this.#held.has(id)) return true
    const old = this.#ring[this.#next]
    if (old !== undefined) this.#held.delete(old)
    this.#ring[this.#next] = id
    this.#next = (this.#next + 1) % this.#ring.length
    this.#held.add(id)
    return false
  }
}

/** What the sink reads of the configuration. */
export interface MonitoringSinkOptions {
  readonly auditLogFile: string | null
  readonly redis: RedisConfig | null
  readonly alertWebhookUrl: Readonly<URL> | null
  readonly monitor: MonitorConfig
}

export interface Logger extends AuditLogger {
  warn: (obj: object, msg: string) => void
  error: (obj: object, msg: string) => void
}

export interface AlertQuery { readonly severity?: Severity, readonly since?: number, readonly limit: number }

export interface AuditSummary {
  readonly since: string | null
  readonly total: number
  readonly events: Record<string, { total: number, reasons: Record<string, number> }>
  /** Records the summary could look at (the most recent AUDIT_KEPT). */
  readonly scanned: number
}

/**
 * The SecuritySink the routes call: decision metrics, the threat monitor, the
 * hash-chained audit trail, alert storage and the webhook.
 */
export class MonitoringSink implements SecuritySink {
  readonly monitor: SecurityMonitor
  readonly #metrics: GatewayMetrics
  readonly #log: Logger
  readonly #audit: AuditTrail
  readonly #state: MonitorState
  readonly #webhook: AlertWebhook | null
  readonly #allow: CounterCell
  // Reasons are the registry's bounded set: one prepared child each keeps label hashing off the hot path.
  readonly #deny = new Map<string, CounterCell>()
  #lastStateError = 0
  readonly #recentRefusals = new RecentIds(REFUSALS_REMEMBERED)

  /** `audit`: where records are chained; a cluster worker hands them to the primary, which owns the one chain. */
  constructor (config: MonitoringSinkOptions, metrics: GatewayMetrics, log: Logger, audit: AuditTrail = new AuditLog(config.auditLogFile, log), revocationOrigin?: MonitorDeps['revocationOrigin']) {
    this.#metrics = metrics
    // Exported at 0 from the start, as the store error counters: a series born at 1 hides
    // its first event from increase(), and so the first CRITICAL alert from the alert rules.
    for (const type of ALERT_TYPES) metrics.alerts.inc({ severity: SEVERITY_OF[type], type }, 0)
    this.#log = log
    this.#audit = audit
    this.#allow = metrics.decisions.cell({ result: 'allow', reason: 'valid' })
    const fallback = new MemoryMonitorState()
    this.#state = config.redis === null ? fallback : new RedisMonitorState(config.redis, log)
    this.#webhook = config.alertWebhookUrl === null
      ? null
      : new AlertWebhook(config.alertWebhookUrl, (outcome) => metrics.webhookDeliveries.inc({ result: outcome }))
    this.monitor = new SecurityMonitor({
      config: config.monitor,
      state: this.#state,
      fallback,
      flushMs: FLUSH_MS,
      onAlert: async (alert) => await this.#onAlert(alert),
      onActivity: async (user, event) => await this.#activity(user, event),
      onStateError: (message) => this.#stateError(message),
      revocationOrigin
    })
  }

  audit (entry: AuditEntry): void {
    const fields: AuditFields = {
      timestamp: new Date().toISOString(),
      event_type: entry.event_type,
      user_id: entry.user_id ?? null,
      iss: entry.iss ?? null,
      jti: cutJti(entry.jti),
      ...(entry.sid !== undefined && { sid: cutJti(entry.sid) }),
      reason: entry.reason ?? null,
      ip: entry.ip ?? null,
      actor: entry.actor ?? null,
      request_id: entry.request_id ?? null
    }
    this.#audit.append(fields)
    this.#keep(fields)
  }

  /** SIGHUP: the audit file reopens at its path (logrotate); a cluster worker owns none. */
  reopenAudit (): void {
    this.#audit.reopen?.()
  }

  allowed (token: TokenRef, facts: RequestFacts): void {
    this.#allow.inc()
    this.monitor.used(token, facts)
  }

  denied (reason: string, token: TokenRef | undefined, facts: RequestFacts): void {
    // nginx's recipe asks again for a refused request, under the same request id, to pass
    // tokengate's answer on (docs/forward-auth.md): one refusal is counted and watched once.
    if (this.#recentRefusals.seen(facts.id)) return
    let counter = this.#deny.get(reason)
    if (counter === undefined) {
      counter = this.#metrics.decisions.cell({ result: 'deny', reason })
      this.#deny.set(reason, counter)
    }
    counter.inc()
    this.monitor.failure(reason, token ?? null, facts)
  }

  tokenIssued (token: TokenRef, _facts: RequestFacts): void {
    this.#metrics.refreshRotations.inc()
    this.monitor.issued(token)
  }

  refreshReuse (token: TokenRef, sid: string, facts: RequestFacts): void {
    const { iss, sub, jti } = token
    this.#metrics.refreshReuse.inc()
    this.#log.error({ sub, iss, sid: cutJti(sid), jti: cutJti(jti), ip: facts.ip, reqId: facts.id }, 'refresh token reuse: session revoked')
    this.monitor.raise('refresh_token_reuse', JSON.stringify([iss ?? '', sub, sid]), { iss, user_id: sub, ip: facts.ip, jti, request_id: facts.id }).catch(() => {})
  }

  /** Stored alerts grouped by type (see alert-groups.ts), newest group first. */
  async alerts (query: AlertQuery): Promise<AlertGroup[]> {
    const types = ALERT_TYPES.filter((type) => query.severity === undefined || SEVERITY_OF[type] === query.severity)
    const lists = await Promise.all(types.map(async (type) => parseAll<Alert>(await this.#state.range(`alerts:${type}`, ALERTS_KEPT_PER_TYPE))))
    const recent = lists.flat()
      .filter((alert) => query.since === undefined || Date.parse(alert.timestamp) >= query.since)
      .sort((a, b) => Date.parse(b.timestamp) - Date.parse(a.timestamp))
    return groupByType(recent).slice(0, query.limit)
  }

  /**
   * The recent events of `userId` of issuer `iss` ('' for tokens without one),
   * with the administrators' revocations of that id in every issuer (ANY_ISSUER), which covered it too.
   */
  async userActivity (iss: string, userId: string, limit: number): Promise<ActivityEvent[]> {
    const keys = iss === ANY_ISSUER ? [iss] : [iss, ANY_ISSUER]
    const lists = await Promise.all(keys.map(async (issuer) => await this.#state.range(`activity:${issuerKey(issuer, userId)}`, limit)))
    return parseAll<ActivityEvent>(lists.flat())
      .sort((a, b) => Date.parse(b.timestamp) - Date.parse(a.timestamp))
      .slice(0, limit)
  }

  async auditSummary (since: number | undefined): Promise<AuditSummary> {
    const records = parseAll<AuditFields>(await this.#state.range('audit', AUDIT_KEPT))
    // Keyed by recorded values (a reason may be "__proto__" or "constructor"): no prototype to collide with.
    const events: AuditSummary['events'] = Object.create(null)
    let total = 0
    for (const record of records) {
      if (since !== undefined && Date.parse(record.timestamp) < since) continue
      total++
      const bucket = events[record.event_type] ??= { total: 0, reasons: Object.create(null) }
      bucket.total++
      const reason = record.reason ?? '(none)'
      bucket.reasons[reason] = (bucket.reasons[reason] ?? 0) + 1
    }
    return { since: since === undefined ? null : new Date(since).toISOString(), total, events, scanned: records.length }
  }

  webhookState (): WebhookState | { configured: false } {
    return this.#webhook?.state() ?? { configured: false }
  }

  get stateName (): 'memory' | 'redis' {
    return this.#state.name
  }

  async close (): Promise<void> {
    await this.monitor.close()
    await this.#webhook?.close()
    await this.#audit.close()
    await this.#state.close()
  }

  async #onAlert (alert: Alert): Promise<void> {
    this.#metrics.alerts.inc({ severity: alert.severity, type: alert.type })
    this.#log.warn({ alert }, `security alert ${alert.severity} ${alert.type}`)
    this.#webhook?.enqueue(alert)
    this.audit({ event_type: 'security_alert', user_id: alert.user_id, iss: alert.iss, jti: alert.jti, reason: `${alert.severity}:${alert.type}`, ip: alert.ip, actor: 'tokengate', request_id: alert.request_id })
    await this.#state.push(`alerts:${alert.type}`, JSON.stringify(alert), ALERTS_KEPT_PER_TYPE, 7 * DAY_S).catch((err: Error) => this.#stateError(err.message))
  }

  #keep (record: AuditFields): void {
    this.#state.push('audit', JSON.stringify(record), AUDIT_KEPT, 7 * DAY_S).catch((err: Error) => this.#stateError(err.message))
    if (record.user_id !== null) {
      this.#activity(issuerKey(record.iss ?? undefined, record.user_id), { timestamp: record.timestamp, event: record.event_type, reason: record.reason, ip: record.ip, jti: record.jti })
        .catch((err: Error) => this.#stateError(err.message))
    }
  }

  /** `user`: the issuerKey of the user's (iss, sub). */
  async #activity (user: string, event: ActivityEvent): Promise<void> {
    await this.#state.push(`activity:${user}`, JSON.stringify(event), ACTIVITY_KEPT, 7 * DAY_S)
  }

  // An outage is logged once by the connection (redis-state.ts); other failures at most once a second.
  #stateError (message: string): void {
    if (this.#state instanceof RedisMonitorState && this.#state.down) return
    const now = Date.now()
    if (now - this.#lastStateError < 1000) return
    this.#lastStateError = now
    this.#log.warn({ err: message }, 'security monitor: Redis unavailable, counting locally')
  }
}

function parseAll<T> (items: string[]): T[] {
  return items.flatMap((item) => {
    try {
      return [JSON.parse(item) as T]
    } catch {
      return []
    }
  })
}
