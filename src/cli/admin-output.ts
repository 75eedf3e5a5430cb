/** Human-readable lines for the admin command's answers (--json prints the gateway's JSON instead). */

function when (epochS: unknown): string {
  return typeof epochS === 'number' ? `${epochS} (${new Date(epochS * 1000).toISOString()})` : String(epochS)
}

function ms (value: unknown): string {
  return typeof value === 'number' ? `${value} ms` : 'n/a'
}

function stateLine (state: any): string {
  if (state?.loaded !== true) return 'revocation state: NOT LOADED'
  return `revocation state: ${state.current === true ? 'current' : 'STALE'} (${ms(state.staleness_ms)} old, at most ${ms(state.max_staleness_ms)})`
}

export function statusLines (health: any, revocation: any): string[] {
  const store = health.store ?? {}
  const upstream = health.upstream ?? {}
  return [
    `status: ${String(health.status)}`,
    `store: ${String(store.name)} ${store.reachable === true ? `reachable (${ms(store.latency_ms)})` : 'UNREACHABLE'}, FAIL_MODE=${String(store.fail_mode)}`,
    stateLine(health.revocation_state),
    `breaker: ${String(health.breaker?.state)}`,
    `upstream: ${upstream.configured !== true ? 'not configured' : upstream.reachable === true ? `reachable (HTTP ${String(upstream.status)})` : 'UNREACHABLE'}`,
    `revocation marks: ${revocation.total_blacklisted === null ? 'unknown (store did not answer)' : String(revocation.total_blacklisted)}`,
    `check time: average ${ms(revocation.average_check_time_ms)}, p99 ${ms(revocation.p99_check_time_ms)}`,
    `cache hit ratio: ${typeof revocation.cache_hit_ratio === 'number' ? `${(revocation.cache_hit_ratio * 100).toFixed(2)}%` : 'n/a'}`,
    `redis errors: ${String(revocation.redis_errors)}`
  ]
}

export function alertLines (answer: any): string[] {
  const alerts: any[] = answer.alerts ?? []
  if (alerts.length === 0) return ['no alerts']
  return alerts.map((a) => [a.timestamp, a.severity, a.type, a.user_id !== null ? `user=${String(a.user_id)}` : null, a.jti !== null ? `jti=${String(a.jti)}` : null, a.message]
    .filter((part) => part !== null).join('  '))
}

/** Which issuer's tokens an answer says were revoked. */
function ofIssuer (answer: any): string {
  if (answer.all_issuers === true) return ' of every issuer'
  return typeof answer.iss === 'string' ? ` of issuer ${answer.iss === '' ? '(none)' : answer.iss}` : ''
}

export function revokedLines (answer: any): string[] {
  switch (answer.revoked) {
    case 'user': return [`revoked every token of user ${String(answer.user_id)}${ofIssuer(answer)} issued up to ${when(answer.revoked_before)}`]
    case 'all': return [`revoked every token${ofIssuer(answer)} issued up to ${when(answer.revoked_before)}`]
    default: return answer.already_expired === true ? ['the token has already expired: nothing to revoke'] : [`revoked token jti ${String(answer.jti)}…${ofIssuer(answer)}`]
  }
}

/** The claims of the admin token, read without verifying it (the gateway did): iss and iat, when it has them. */
function claimsOf (token: string): { iss?: unknown, iat?: unknown } | null {
  try {
    const payload: unknown = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'))
    return typeof payload === 'object' && payload !== null ? payload : null
  } catch {
    return null
  }
}

/**
 * After revoke-all: whether the admin token this command used was among the tokens revoked (of the
 * issuer revoked, or of every issuer, and issued up to the revocation), so the operator is not
 * surprised by a 401 at the next command. Null when it was not.
 */
export function ownTokenLine (adminToken: string, answer: any): string | null {
  const claims = claimsOf(adminToken)
  const iss = typeof claims?.iss === 'string' ? claims.iss : ''
  const sameIssuer = answer?.all_issuers === true || answer?.iss === iss
  const issued = typeof claims?.iat !== 'number' || typeof answer?.revoked_before !== 'number' || claims.iat <= answer.revoked_before
  if (!sameIssuer || !issued) return null
  return 'note: the admin token this command used is revoked too (same issuer, issued before now): get a new one for the next admin command'
}
