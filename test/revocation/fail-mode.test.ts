import t from 'tap'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { startRedis, type RedisServer } from '../helpers/redis.js'
import { sign } from '../helpers/tokens.js'
import { until } from '../helpers/until.js'

async function setup (t: { teardown: (fn: () => unknown) => void }, failMode: 'open' | 'closed'): Promise<{ gw: Gateway, redis: RedisServer }> {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const gw = await startGateway(t, { REDIS_URL: redis.url, FAIL_MODE: failMode, REVOCATION_CHECK_TIMEOUT_MS: '50', MAX_STALENESS_MS: '500', RATE_LIMIT_LOGOUT_PER_MIN: '0' })
  return { gw, redis }
}

for (const failMode of ['open', 'closed'] as const) {
  t.test(`FAIL_MODE=${failMode}: Redis killed mid-test, then back`, async (t) => {
    const { gw, redis } = await setup(t, failMode)
    const known = sign()
    const fresh = sign()
    t.equal((await call(`${gw.url}/auth/logout`, { method: 'POST', token: known })).status, 200)

    await redis.kill()
    // Nobody can revoke while Redis is dead: the state current when it died decides alone for MAX_STALENESS_MS, then no longer.
    t.ok(await until(async () => !gw.app.tokengate.replica.current, 1500), 'the state is known stale within MAX_STALENESS_MS')
    const started = performance.now()
    const res = await call(`${gw.url}/auth/verify`, { token: fresh })
    const elapsed = performance.now() - started
    if (failMode === 'open') {
      t.equal(res.status, 200, 'open: a valid token is allowed while the store is down')
    } else {
      t.equal(res.status, 503, 'closed: refused while the store is down')
      t.equal(res.body.error, 'temporarily_unavailable')
      t.type(res.body.error_description, 'string', 'an OAuth-style body')
      t.equal(res.headers.get('retry-after'), '1')
    }
    t.ok(elapsed < 1000, `the lookup did not hang (${elapsed.toFixed(0)} ms)`)
    t.equal((await call(`${gw.url}/auth/verify`, { token: known })).status, 401, 'a token known revoked stays denied in both modes')
    t.equal((await call(`${gw.url}/auth/logout`, { method: 'POST', token: sign() })).status, 503, 'revocation writes answer 503, never a false 2xx')
    for (let i = 0; i < 5; i++) await call(`${gw.url}/auth/verify`, { token: sign() })
    t.equal(gw.app.tokengate.checker.breakerState, 'open', 'consecutive failures opened the breaker')
    const shortCut = performance.now()
    t.equal((await call(`${gw.url}/auth/verify`, { token: sign() })).status, failMode === 'open' ? 200 : 503, 'the fail mode still applies while it is open')
    t.ok(performance.now() - shortCut < 200, 'and answers without trying Redis')
    const ready = await call(`${gw.url}/readyz`)
    t.equal(ready.status, 200, 'still ready: an outage every replica shares does not take them all out (docs/operations.md)')

    await redis.restart()
    t.ok(await until(async () => (await call(`${gw.url}/auth/logout`, { method: 'POST', token: fresh })).status === 200), 'writes work again without a restart')
    t.ok(await until(async () => (await call(`${gw.url}/auth/verify`, { token: fresh })).status === 401), 'and are enforced')
    t.equal((await call(`${gw.url}/auth/verify`, { token: sign() })).status, 200, 'unknown tokens are decided locally again')
    t.equal((await call(`${gw.url}/readyz`)).status, 200)
    t.ok(await until(async () => gw.app.tokengate.checker.breakerState === 'closed'), 'the breaker closed by itself')
    t.ok(await until(async () => gw.app.tokengate.replica.current), 'and the state is current again')
  })
}

t.test('a slow Redis costs at most the lookup budget', async (t) => {
  const { gw, redis } = await setup(t, 'open')
  const token = sign()
  t.equal((await call(`${gw.url}/auth/verify`, { token })).status, 200)
  await redis.client.client('PAUSE', 1500, 'ALL')
  const started = performance.now()
  const res = await call(`${gw.url}/auth/verify`, { token: sign() })
  const elapsed = performance.now() - started
  t.equal(res.status, 200, 'open: allowed once the 50 ms budget is spent')
  t.ok(elapsed < 500, `answered in ${elapsed.toFixed(0)} ms while Redis was paused for 1500 ms`)
})
