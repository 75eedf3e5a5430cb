import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { sharedRedis, startRedis } from '../helpers/redis.js'
import { boundToken, dpopKey, proof } from '../helpers/dpop.js'
import { sign } from '../helpers/tokens.js'
import { until } from '../helpers/until.js'

const shared = await sharedRedis(t)

t.test('/healthz answers 200 without a token', async (t) => {
  const gw = await startGateway(t)
  const res = await call(`${gw.url}/healthz`)
  t.equal(res.status, 200)
  t.same(res.body, { status: 'ok' })
})

t.test('/readyz with the memory store is ready', async (t) => {
  const gw = await startGateway(t)
  const res = await call(`${gw.url}/readyz`)
  t.equal(res.status, 200)
  t.same(res.body, { status: 'ready' }, 'the store is not named to unauthenticated callers')
})

t.test('/readyz with Redis up is ready and does not name the store', async (t) => {
  const gw = await startGateway(t, shared.env())
  const res = await call(`${gw.url}/readyz`)
  t.equal(res.status, 200)
  t.same(res.body, { status: 'ready' })
})

// Issue 20 item 5: once the state was loaded, an outage of the Redis every replica shares degrades
// /admin/health and the metrics, not readiness: taking every replica out at once helps nobody.
for (const failMode of ['open', 'closed'] as const) {
  t.test(`/readyz with Redis down after the first load and FAIL_MODE=${failMode}: still ready`, async (t) => {
    const redis = await startRedis()
    t.teardown(() => redis.stop())
    const gw = await startGateway(t, { REDIS_URL: redis.url, FAIL_MODE: failMode, MAX_STALENESS_MS: '500' })
    await redis.kill()
    t.ok(await until(async () => !gw.app.tokengate.replica.current), 'the state went stale')
    const res = await call(`${gw.url}/readyz`)
    t.equal(res.status, 200)
    t.same(res.body, { status: 'ready' }, 'neither the outage nor the fail mode is told to unauthenticated callers')
    const admin = await call(`${gw.url}/admin/health`, { token: sign({ claims: { roles: ['admin'] } }) })
    if (failMode === 'open') {
      t.match(admin.body, { status: 'degraded', store: { reachable: false, fail_mode: 'open' } }, 'operators read it in /admin/health')
    } else {
      t.equal(admin.status, 503, 'closed: even an admin token cannot be checked; operators read /metrics')
    }
    t.equal((await call(`${gw.url}/healthz`)).status, 200, 'liveness does not depend on Redis: no restart loop')
  })
}

t.test('/readyz waits for the first load of the revocation state', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  await redis.kill()
  const gw = await startGateway(t, { REDIS_URL: redis.url, FAIL_MODE: 'closed' })
  t.match(await call(`${gw.url}/readyz`), { status: 503, body: { status: 'loading' } }, 'never loaded: not ready')
  await redis.restart()
  t.ok(await until(async () => (await call(`${gw.url}/readyz`)).status === 200, 10_000), 'ready once loaded')
})

// RFC 9449 §11.1: each proof is claimed in Redis through the replay guard's own connection; until
// it is up, every DPoP request would be refused 503 TG_ERR_DPOP_REPLAY_UNAVAILABLE.
t.test('DPOP=true: /readyz waits for the replay guard\'s first connection; the first DPoP request after ready passes', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  await redis.kill()
  const gw = await startGateway(t, { REDIS_URL: redis.url, DPOP: 'true', DPOP_ORIGINS: 'https://api.example' })
  t.match(await call(`${gw.url}/readyz`), { status: 503, body: { status: 'loading' } }, 'Redis not listening yet: loading')
  await redis.restart()
  t.ok(await until(async () => (await call(`${gw.url}/readyz`)).status === 200, 10_000, 2), 'ready once Redis is up')
  t.ok(gw.app.tokengate.replayGuard.connectedOnce, 'ready only once the replay guard has connected')
  const key = dpopKey()
  const token = boundToken(key)
  const htu = 'https://api.example/orders/1'
  const headers = { 'x-forwarded-method': 'GET', 'x-forwarded-uri': '/orders/1', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example' }
  const res = await call(`${gw.url}/auth/verify`, { headers: { ...headers, authorization: `DPoP ${token}`, dpop: proof(key, { htm: 'GET', htu, token }) } })
  t.equal(res.status, 200, 'the first DPoP request after ready is decided, not 503')
  // Connected once is enough: a later outage is answered per request (503), not by leaving rotation.
  await redis.kill()
  t.equal((await call(`${gw.url}/readyz`)).status, 200, 'a later outage does not take the replica out')
})

t.test('READY_FOLLOWS_STATE: out after 3 x MAX_STALENESS_MS of staleness, back once current', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const gw = await startGateway(t, { REDIS_URL: redis.url, READY_FOLLOWS_STATE: 'true', MAX_STALENESS_MS: '500' })
  t.equal((await call(`${gw.url}/readyz`)).status, 200)
  await redis.kill()
  const replica = gw.app.tokengate.replica
  t.ok(await until(async () => replica.stalenessMs > 600), 'stale past MAX_STALENESS_MS')
  if (replica.stalenessMs < 1500) t.equal((await call(`${gw.url}/readyz`)).status, 200, 'not yet three times over: still ready')
  t.ok(await until(async () => replica.stalenessMs > 1500), 'stale past 3 x MAX_STALENESS_MS')
  t.match(await call(`${gw.url}/readyz`), { status: 503, body: { status: 'unavailable' } })
  await redis.restart()
  t.ok(await until(async () => (await call(`${gw.url}/readyz`)).status === 200, 10_000), 'back in once the state is current')
  t.ok(replica.current)
})

t.test('/healthz and /readyz are served by the gateway even with UPSTREAM_URL set', async (t) => {
  const gw = await startGateway(t, { UPSTREAM_URL: 'http://127.0.0.1:9' })
  t.equal((await call(`${gw.url}/healthz`)).status, 200)
  t.equal((await call(`${gw.url}/readyz`)).status, 200)
})

t.test('/healthz and /readyz tell unauthenticated callers nothing operational, in proxy and forward-auth mode', async (t) => {
  for (const env of [{}, { UPSTREAM_URL: 'http://127.0.0.1:9' }]) {
    const gw = await startGateway(t, { ...shared.env(), ...env })
    for (const path of ['/healthz', '/readyz']) {
      const res = await call(`${gw.url}${path}`)
      t.same(Object.keys(res.body), ['status'], path)
      t.notMatch(res.text, /redis|memory|fail_mode|breaker|open|closed/i, path)
    }
  }
})
