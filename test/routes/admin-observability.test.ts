import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { sharedRedis, startRedis } from '../helpers/redis.js'
import { sign } from '../helpers/tokens.js'
import { until, untilValue } from '../helpers/until.js'
import { startUpstream } from '../helpers/upstream.js'

const admin = (): string => sign({ claims: { sub: 'ops-1', roles: ['admin'] } })
const ENV = { RATE_LIMIT_ADMIN_PER_MIN: '0' }
const ROUTES: Array<[string, string]> = [
  ['GET', '/admin/blacklist/status'], ['GET', '/admin/health'], ['POST', '/admin/cleanup'],
  ['GET', '/admin/alerts'], ['GET', '/admin/users/u1/activity'], ['GET', '/admin/audit/summary']
]
const shared = await sharedRedis(t)

t.test('operator routes refuse anonymous callers (401) and tokens without ADMIN_ROLE (403)', async (t) => {
  const gw = await startGateway(t, ENV)
  const user = sign({ claims: { roles: ['user'] } })
  for (const [method, path] of ROUTES) {
    t.equal((await call(`${gw.url}${path}`, { method })).status, 401, `${method} ${path} anonymous`)
    t.equal((await call(`${gw.url}${path}`, { method, token: user })).status, 403, `${method} ${path} as a user`)
  }
})

for (const name of ['memory', 'redis']) {
  t.test(`${name}: blacklist status has exactly the agreed fields, filled by traffic`, async (t) => {
    const gw = await startGateway(t, name === 'redis' ? { ...ENV, ...shared.env() } : ENV)
    const token = sign()
    for (let i = 0; i < 4; i++) await call(`${gw.url}/auth/verify`, { token })
    await call(`${gw.url}/auth/logout`, { method: 'POST', token: sign({ claims: { sid: 'one-session' } }) })
    const res = await call(`${gw.url}/admin/blacklist/status`, { token: admin() })
    t.equal(res.status, 200)
    t.same(Object.keys(res.body).sort(), ['average_check_time_ms', 'breaker_state', 'cache_hit_ratio', 'p99_check_time_ms', 'redis_errors', 'store', 'total_blacklisted'])
    t.match(res.body, { total_blacklisted: 2, redis_errors: 0, breaker_state: 'closed', store: name }, 'a jti and a session mark')
    // Every replica holds the complete revocation state: no check had to ask the store.
    t.match(res.body, { average_check_time_ms: null, p99_check_time_ms: null, cache_hit_ratio: 1 }, 'every check was answered locally')
  })
}

t.test('health reports store, revocation state, breaker, upstream and alert sink', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { ...ENV, ...shared.env(), UPSTREAM_URL: upstream.url })
  // The log follower proves itself current in the background: health says "degraded" until it has.
  await until(() => gw.app.tokengate.replica.current, 5000, 20)
  const ok = await call(`${gw.url}/admin/health`, { token: admin() })
  t.match(ok.body, {
    status: 'ok',
    store: { name: 'redis', reachable: true },
    revocation_state: { loaded: true, current: true, max_staleness_ms: 1000, reloads: 0 },
    breaker: { state: 'closed' },
    upstream: { configured: true, reachable: true },
    alert_sink: { monitor_state: 'redis', webhook: { configured: false } }
  })
  await upstream.close()
  const down = await call(`${gw.url}/admin/health`, { token: admin() })
  t.match(down.body, { status: 'degraded', upstream: { reachable: false } }, 'an unreachable upstream shows')
})

t.test('health shows an unreachable Redis without failing the call', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  // Admin access itself passes under FAIL_MODE=open while Redis is down.
  const gw = await startGateway(t, { ...ENV, REDIS_URL: redis.url })
  await redis.kill()
  // Past MAX_STALENESS_MS the local state no longer decides alone: checks go to the dead store.
  await until(() => !gw.app.tokengate.replica.current, 3000, 20)
  const res = await call(`${gw.url}/admin/health`, { token: admin() })
  t.equal(res.status, 200)
  t.match(res.body, { status: 'degraded', store: { reachable: false, latency_ms: null } })
  const status = await call(`${gw.url}/admin/blacklist/status`, { token: admin() })
  t.match(status.body, { total_blacklisted: null, store: 'redis' })
  t.ok(status.body.redis_errors >= 1)
})

t.test('cleanup prunes local entries and reports the store\'s marks by kind and memory', async (t) => {
  const gw = await startGateway(t, { ...ENV, ...shared.env() })
  await call(`${gw.url}/auth/logout`, { method: 'POST', token: sign({ claims: { sid: 's-1' } }) })
  await call(`${gw.url}/admin/users/u-9/revoke`, { method: 'POST', token: admin(), json: { reason: 'test' } })
  const res = await call(`${gw.url}/admin/cleanup`, { method: 'POST', token: admin() })
  t.equal(res.status, 200)
  t.match(res.body, { store: 'redis', marks: { jti: 1, session: 1, user: 1, global: 0 }, total_marks: 3, store_reachable: true })
  t.type(res.body.pruned_local_entries, 'number')
  t.ok(res.body.memory_bytes > 0, 'Redis memory reported')
})

t.test('a user\'s activity lists their security events, newest first', async (t) => {
  const gw = await startGateway(t, ENV)
  const token = sign({ claims: { sub: 'alice' } })
  await call(`${gw.url}/auth/logout`, { method: 'POST', token })
  await call(`${gw.url}/auth/verify`, { token })
  const read = async (): Promise<any> => (await call(`${gw.url}/admin/users/alice/activity`, { token: admin() })).body
  const body = await untilValue(read, (activity) => activity.count >= 3, 1000, 25)
  t.equal(body.user_id, 'alice')
  t.same(body.events.map((e: { event: string }) => e.event).sort(), ['logout', 'security_alert', 'verification_failed'])
  for (const event of body.events) t.ok(event.jti === null || event.jti.length === 8, 'jti cut to 8 characters')
  t.same((await call(`${gw.url}/admin/users/nobody/activity`, { token: admin() })).body, { user_id: 'nobody', iss: '', count: 0, events: [] })
})

t.test('admin observability routes share the admin rate limit', async (t) => {
  const gw = await startGateway(t, { RATE_LIMIT_ADMIN_PER_MIN: '2' })
  const token = admin()
  const statuses = []
  for (let i = 0; i < 3; i++) statuses.push((await call(`${gw.url}/admin/health`, { token })).status)
  t.same(statuses, [200, 200, 429])
})
