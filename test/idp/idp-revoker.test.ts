import t from 'tap'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { startRedis, type RedisServer } from '../helpers/redis.js'
import { scrape, valueOf } from '../helpers/scrape.js'
import { sign } from '../helpers/tokens.js'
import { until } from '../helpers/until.js'

const ENV = { LOG_LEVEL: 'info', FAIL_MODE: 'open' }

async function status (gw: Gateway, token: string): Promise<number> {
  return (await call(`${gw.url}/auth/verify`, { token })).status
}

function auditOf (gw: Gateway): Array<Record<string, unknown>> {
  return gw.logs.flatMap((line) => {
    const record = (JSON.parse(line) as { audit?: Record<string, unknown> }).audit
    return record?.event_type === 'idp_revocation' ? [record] : []
  })
}

async function ownRedis (t: Parameters<typeof startGateway>[0]): Promise<RedisServer> {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  return redis
}

t.test('Redis down during an IdP logout: enforced on the receiving replica at once, queued, stored when Redis returns, then enforced by every replica', async (t) => {
  const redis = await ownRedis(t)
  const a = await startGateway(t, { ...ENV, REDIS_URL: redis.url })
  const b = await startGateway(t, { ...ENV, REDIS_URL: redis.url })
  const session = sign({ claims: { sid: 'idp-session-1' } })
  const other = sign({ claims: { sid: 'idp-session-2' } })
  t.equal(await status(a, session), 200)
  await redis.kill()
  const result = await a.app.tokengate.idpRevoker.enforce({ source: 'backchannel_logout', kind: 'session', issuer: '', id: 'idp-session-1', subject: 'user-1' })
  t.equal(result.outcome, 'queued', 'not stored: the caller must not answer 2xx')
  t.equal(await status(a, session), 401, 'refused at once on the replica that received it')
  t.equal(await status(a, other), 200, 'the user\'s other session still passes')
  t.equal(valueOf(await scrape(a.url), 'tokengate_idp_retry_queue_depth'), 1)
  await redis.restart()
  t.ok(await until(() => a.app.tokengate.idpRevoker.queued === 0, 10_000), 'stored once Redis returned')
  t.ok(await until(async () => await status(b, session) === 401, 10_000), 'and the other replica refuses it from the store')
  t.equal(await status(b, other), 200)
  const metrics = await scrape(a.url)
  t.equal(valueOf(metrics, 'tokengate_idp_retry_attempts_total', { result: 'stored' }), 1)
  t.equal(valueOf(metrics, 'tokengate_idp_revocations_total', { source: 'backchannel_logout', kind: 'session', outcome: 'queued' }), 1)
  t.equal(valueOf(metrics, 'tokengate_revocations_total', { kind: 'session', reason: 'backchannel_logout' }), 1)
  t.match(auditOf(a).map((r) => r.reason), ['backchannel_logout:session:queued', 'backchannel_logout:session:stored_after_retry'])
  t.match(auditOf(a)[0], { iss: '', user_id: 'user-1', sid: 'idp-sess', actor: 'idp:backchannel_logout' }, 'the session cut like a jti')
})

t.test('a queued IdP revocation dropped (queue full, or not stored in time) raises a CRITICAL alert naming the issuer and the session or subject', async (t) => {
  const redis = await ownRedis(t)
  const a = await startGateway(t, { ...ENV, REDIS_URL: redis.url, IDP_RETRY_QUEUE_SIZE: '1', IDP_RETRY_MAX_AGE: '1s' })
  await redis.kill()
  const idp = a.app.tokengate.idpRevoker
  t.equal((await idp.enforce({ source: 'ssf_push', kind: 'session', issuer: '', id: 'kept-session' })).outcome, 'queued')
  const dropped = await idp.enforce({ source: 'global_token_revocation', kind: 'user', issuer: '', id: 'alice' })
  t.equal(dropped.outcome, 'dropped', 'queue full')
  t.ok(dropped.before !== null, 'a user revocation says what it covers')
  t.equal(await status(a, sign({ claims: { sub: 'alice' } })), 401, 'still enforced on this replica')
  t.ok(await until(async () => valueOf(await scrape(a.url), 'tokengate_idp_revocations_dropped_total', { reason: 'too_old' }) === 1, 5000), 'the queued one dropped past IDP_RETRY_MAX_AGE')
  const metrics = await scrape(a.url)
  t.equal(valueOf(metrics, 'tokengate_idp_revocations_dropped_total', { reason: 'queue_full' }), 1)
  t.ok(await until(async () => valueOf(await scrape(a.url), 'tokengate_security_alerts_total', { severity: 'CRITICAL', type: 'idp_revocation_dropped' }) === 2, 5000), 'one CRITICAL alert each')
  const alerts = a.logs.filter((line) => line.includes('"idp_revocation_dropped"'))
  t.ok(alerts.some((line) => line.includes('subject \\"alice\\"')), 'naming the subject')
  t.ok(alerts.some((line) => line.includes('session \\"kept-session\\"')), 'naming the session')
})
