import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { sharedRedis, startRedis } from '../helpers/redis.js'
import { sign } from '../helpers/tokens.js'

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

for (const failMode of ['open', 'closed'] as const) {
  t.test(`/readyz with Redis down and FAIL_MODE=${failMode}`, async (t) => {
    const redis = await startRedis()
    t.teardown(() => redis.stop())
    const gw = await startGateway(t, { REDIS_URL: redis.url, FAIL_MODE: failMode })
    await redis.kill()
    const res = await call(`${gw.url}/readyz`)
    if (failMode === 'open') {
      t.equal(res.status, 200, 'still takes traffic: it serves without the store')
      t.same(res.body, { status: 'ready' }, 'neither the outage nor the fail mode is told to unauthenticated callers')
      const admin = await call(`${gw.url}/admin/health`, { token: sign({ claims: { roles: ['admin'] } }) })
      t.match(admin.body, { status: 'degraded', store: { reachable: false, fail_mode: 'open' } }, 'operators read it in /admin/health')
    } else {
      t.equal(res.status, 503, 'taken out of rotation: it would refuse every token')
      t.same(res.body, { status: 'unavailable' })
    }
    t.equal((await call(`${gw.url}/healthz`)).status, 200, 'liveness does not depend on Redis: no restart loop')
  })
}

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
