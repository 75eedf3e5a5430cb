import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { startRedis } from '../helpers/redis.js'
import { sign } from '../helpers/tokens.js'
import { until } from '../helpers/until.js'

// Issue 20 item 6: a Redis outage is logged once per change of state with a count, not per
// reconnect attempt (it was 19 warnings in 5 s), and a healthy start logs no warning at all.
const level = (line: string): number => (JSON.parse(line) as { level: number }).level
const WARN = 40

t.test('a healthy start logs no warning; an outage one line per connection, and its end with a count', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const gw = await startGateway(t, { REDIS_URL: redis.url, RATE_LIMIT_ADMIN_PER_MIN: '0' })
  // Each Redis connection is used: lookups and monitor (a verify), writes (a logout), rate limits.
  t.equal((await call(`${gw.url}/auth/logout`, { method: 'POST', token: sign() })).status, 200)
  t.ok(await until(async () => gw.app.tokengate.replica.current))
  t.same(gw.logs.filter((line) => level(line) >= WARN), [], 'no warning at start (there was a spurious "revocation log unreadable")')

  await redis.kill()
  const downAt = gw.logs.length
  // Five seconds of outage with traffic: reconnect attempts every 50 ms to 1 s on each connection.
  const end = Date.now() + 5000
  while (Date.now() < end) {
    await call(`${gw.url}/auth/verify`, { token: sign() })
    await call(`${gw.url}/auth/logout`, { method: 'POST', token: sign() })
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const warnings = gw.logs.slice(downAt).filter((line) => level(line) >= WARN)
  const connections = new Set(warnings.map((line) => (JSON.parse(line) as { msg: string }).msg))
  // One per Redis connection (lookups, writes, follower, rate limits, monitor), the follower's
  // "unreadable", one 503 line: never one per reconnect attempt or per request.
  t.ok(warnings.length <= 7, `${warnings.length} warnings in 5 s of outage: ${[...connections].join(' | ')}`)
  t.equal(warnings.length, connections.size, 'none repeated')

  await redis.restart()
  const back = (line: string): boolean => line.includes('Redis reachable again')
  t.ok(await until(async () => gw.logs.filter(back).length >= 3, 10_000), 'each connection says it is back')
  const recovered = JSON.parse(gw.logs.find(back) ?? '{}') as { errors: number, down_ms: number }
  t.ok(recovered.errors >= 1 && recovered.down_ms >= 1000, `with the errors it absorbed (${recovered.errors}) and how long (${recovered.down_ms} ms)`)
})
