import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { request as httpRequest } from 'undici'
import type { Authenticator } from '../decision/authenticator.js'
import type { FailMode } from '../revocation/checker.js'
import { Failures, GatewayError, withDescription } from '../errors.js'
import type { GatewayMetrics } from '../metrics/metrics.js'
import type { ReplicaState } from '../revocation/replica-state.js'
import type { IssuerScope } from '../revocation/issuer-scope.js'
import type { RevocationStore, StoreStats } from '../revocation/store.js'
import { SEVERITIES, type Severity } from '../security/alert.js'
import type { MonitoringSink } from '../security/monitoring-sink.js'
import { ISS } from './admin-revocation.js'
import { requireToken } from './guards.js'
import type { SenderConstraint } from '../decision/sender-constraint.js'
import { countRefusedPerAddress, perSubject } from './rate-limits.js'
import { within } from '../async/within.js'

const PROBE_BUDGET_MS = 1000

export interface ObservabilityOptions {
  readonly authenticator: Authenticator
  readonly store: RevocationStore
  readonly replica: ReplicaState
  readonly metrics: GatewayMetrics
  readonly security: MonitoringSink
  /** Which issuer a user named in a request belongs to (`iss`), or the single trusted one. */
  readonly issuers: IssuerScope
  /** Null when no trusted issuer may grant it (JWT_ISSUERS entries without grants_admin): every admin request is refused. */
  readonly adminRole: string | null
  readonly failMode: FailMode
  readonly upstreamUrl: Readonly<URL> | null
  /** Bound tokens held to their key or certificate, as at the decision (sender-constraint.ts). */
  readonly senderConstraint: SenderConstraint
}

/** An ISO date or epoch seconds, as milliseconds; 400 for anything else. */
function parseSince (value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value)
  if (!Number.isFinite(ms)) throw new GatewayError(withDescription(Failures.BAD_REQUEST, '"since" must be an ISO 8601 date or epoch seconds'))
  return ms
}

function parseSeverity (value: string | undefined): Severity | undefined {
  if (value === undefined || value === '') return undefined
  const upper = value.toUpperCase()
  if (!(SEVERITIES as readonly string[]).includes(upper)) {
    throw new GatewayError(withDescription(Failures.BAD_REQUEST, `"severity" must be one of ${SEVERITIES.join(', ')}`))
  }
  return upper as Severity
}

function totalMarks (stats: StoreStats): number {
  return Object.values(stats.marks).reduce((sum, n) => sum + n, 0)
}

async function upstreamReachable (url: Readonly<URL>): Promise<{ reachable: boolean, status: number | null }> {
  try {
    const response = await httpRequest(url.href, { method: 'HEAD', signal: AbortSignal.timeout(PROBE_BUDGET_MS) })
    await response.body.dump()
    return { reachable: true, status: response.statusCode }
  } catch {
    return { reachable: false, status: null }
  }
}

const LIMIT = { type: 'integer', minimum: 1, maximum: 1000, default: 100 }

function revocationState (replica: ReplicaState): object {
  const staleness = replica.stalenessMs
  return {
    loaded: replica.loaded,
    current: replica.current,
    staleness_ms: Number.isFinite(staleness) ? Math.round(staleness) : null,
    max_staleness_ms: replica.maxStalenessMs,
    marks: replica.size(),
    reloads: replica.reloads
  }
}

/** Operator views: blacklist status, health, alerts, user activity, audit summary, cleanup. */
export const adminObservabilityRoutes: FastifyPluginAsync<ObservabilityOptions> = async (app, { authenticator, store, replica, metrics, security: sink, issuers, adminRole, failMode, upstreamUrl, senderConstraint }) => {
  const options = { preHandler: [requireToken({ authenticator, security: sink, senderConstraint }, adminRole, countRefusedPerAddress(app.rateLimits)), perSubject(app.rateLimits.admin)] }

  app.get('/admin/blacklist/status', options, async (_request, reply) => {
    const stats = await within(store.stats(), PROBE_BUDGET_MS, null)
    const checks = metrics.checks.summary()
    reply.header('cache-control', 'no-store')
    return {
      total_blacklisted: stats === null ? null : totalMarks(stats),
      average_check_time_ms: checks.averageMs,
      p99_check_time_ms: checks.p99Ms,
      cache_hit_ratio: checks.hitRatio,
      redis_errors: checks.storeErrors,
      breaker_state: metrics.breakerState(),
      store: store.name
    }
  })

  app.get('/admin/health', options, async (_request, reply) => {
    const started = performance.now()
    const storeUp = await within(store.ping().then(() => true), PROBE_BUDGET_MS, false)
    const storeMs = Math.round((performance.now() - started) * 1000) / 1000
    const upstream = upstreamUrl === null ? null : await upstreamReachable(upstreamUrl)
    const breaker = metrics.breakerState()
    const current = replica.current
    const healthy = storeUp && current && breaker === 'closed' && (upstream?.reachable ?? true)
    reply.header('cache-control', 'no-store')
    return {
      status: healthy ? 'ok' : 'degraded',
      store: { name: store.name, reachable: storeUp, latency_ms: storeUp ? storeMs : null, fail_mode: failMode },
      revocation_state: revocationState(replica),
      breaker: { state: breaker },
      upstream: upstream === null ? { configured: false } : { configured: true, ...upstream },
      alert_sink: { monitor_state: sink.stateName, webhook: sink.webhookState() }
    }
  })

  app.post('/admin/cleanup', options, async (request: FastifyRequest, reply) => {
    const pruned = replica.prune()
    const stats = await within(store.stats(), PROBE_BUDGET_MS, null)
    sink.audit({ event_type: 'admin_cleanup', reason: 'maintenance', ip: request.ip, actor: request.tokengateClaims?.sub ?? 'unknown', request_id: request.id })
    reply.header('cache-control', 'no-store')
    return {
      pruned_local_entries: pruned,
      store: store.name,
      marks: stats?.marks ?? null,
      total_marks: stats === null ? null : totalMarks(stats),
      memory_bytes: stats?.memoryBytes ?? null,
      store_reachable: stats !== null
    }
  })

  app.get<{ Querystring: { severity?: string, since?: string, limit: number } }>('/admin/alerts', {
    ...options,
    schema: { querystring: { type: 'object', properties: { severity: { type: 'string', maxLength: 16 }, since: { type: 'string', maxLength: 40 }, limit: LIMIT } } }
  }, async (request, reply) => {
    const severity = parseSeverity(request.query.severity)
    const since = parseSince(request.query.since)
    const alerts = await sink.alerts({ limit: request.query.limit, ...(severity !== undefined && { severity }), ...(since !== undefined && { since }) })
    reply.header('cache-control', 'no-store')
    return { count: alerts.length, alerts }
  })

  app.get<{ Params: { id: string }, Querystring: { limit: number, iss?: string } }>('/admin/users/:id/activity', {
    ...options,
    schema: {
      params: { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 512 } } },
      querystring: { type: 'object', properties: { limit: { ...LIMIT, maximum: 100, default: 50 }, iss: ISS } }
    }
  }, async (request, reply) => {
    const iss = issuers.subject(request.query.iss)
    const events = await sink.userActivity(iss, request.params.id, request.query.limit)
    reply.header('cache-control', 'no-store')
    return { user_id: request.params.id, iss, count: events.length, events }
  })

  app.get<{ Querystring: { since?: string } }>('/admin/audit/summary', {
    ...options,
    schema: { querystring: { type: 'object', properties: { since: { type: 'string', maxLength: 40 } } } }
  }, async (request, reply) => {
    const summary = await sink.auditSummary(parseSince(request.query.since))
    reply.header('cache-control', 'no-store')
    return summary
  })
}
