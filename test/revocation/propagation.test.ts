import t from 'tap'
import type { RevocationChecker } from '../../src/revocation/checker.js'
import type { LookupQuery } from '../../src/revocation/store.js'
import { nowSeconds } from '../../src/revocation/store.js'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { startRedis, type RedisServer } from '../helpers/redis.js'
import { sign } from '../helpers/tokens.js'
import { msUntil, until } from '../helpers/until.js'
import { marks } from './marks.js'

const TRIALS = 200

interface Pair { redis: RedisServer, a: Gateway, b: Gateway }

async function twoGateways (t: Parameters<typeof startGateway>[0]): Promise<Pair> {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const env = { REDIS_URL: redis.url, LOG_LEVEL: 'warn' }
  const a = await startGateway(t, env)
  const b = await startGateway(t, env)
  const current = await until(() => a.app.tokengate.replica.current && b.app.tokengate.replica.current)
  if (!current) throw new Error('gateways did not load the revocation state')
  return { redis, a, b }
}

/** Polls the checker on every turn of the event loop until it denies; milliseconds it took. */
async function msUntilDenied (checker: RevocationChecker, query: LookupQuery): Promise<number> {
  return await msUntil(async () => await checker.check(query) !== 'ok', 2000, 0)
}

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * p) - 1)]
}

t.test(`a revocation written through A is denied by B within milliseconds (${TRIALS} trials)`, async (t) => {
  const { a, b } = await twoGateways(t)
  const store = a.app.tokengate.store
  const latencies: number[] = []
  const notDenied: string[] = []
  for (let i = 0; i < TRIALS; i++) {
    const kind = (['jti', 'session', 'user'] as const)[i % 3]
    const claims = { sub: `prop-${i}`, sid: `sid-${i}`, iat: nowSeconds() - 1 }
    const token = sign({ claims })
    for (let n = 0; n < 3; n++) {
      if ((await call(`${b.url}/auth/verify`, { token })).status !== 200) throw new Error('B refused a valid token')
    }
    const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { jti: string, exp: number }
    if (kind === 'jti') await marks(store).token(payload.jti, 60)
    else if (kind === 'session') await marks(store).session(claims.sid, 60)
    else await marks(store).user(claims.sub, nowSeconds(), 60)
    latencies.push(await msUntilDenied(b.app.tokengate.checker, { iss: '', jti: payload.jti, sid: claims.sid, sub: claims.sub, iat: claims.iat }))
    if ((await call(`${b.url}/auth/verify`, { token })).status !== 401) notDenied.push(`${kind} ${i}`)
  }
  const sorted = [...latencies].sort((x, y) => x - y)
  const p50 = percentile(sorted, 0.5)
  const p99 = percentile(sorted, 0.99)
  t.comment(`propagation A -> B over ${TRIALS} trials: p50 ${p50.toFixed(3)} ms, p99 ${p99.toFixed(3)} ms, max ${sorted[sorted.length - 1].toFixed(3)} ms`)
  t.same(notDenied, [], 'B answers 401 for every revoked token it had served before')
  t.ok(p99 < 250, `p99 ${p99.toFixed(2)} ms`)
})

t.test('a global revocation through A reaches B at once', async (t) => {
  const { a, b } = await twoGateways(t)
  const token = sign({ claims: { iat: nowSeconds() - 1 } })
  t.equal((await call(`${b.url}/auth/verify`, { token })).status, 200)
  t.equal((await call(`${b.url}/auth/verify`, { token })).status, 200)
  await marks(a.app.tokengate.store).everyone(nowSeconds(), 60)
  t.ok(await until(async () => (await call(`${b.url}/auth/verify`, { token })).status === 401, 1000, 1))
})
