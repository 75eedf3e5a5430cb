import t from 'tap'
import { RevocationChecker, type CheckerOptions } from '../../src/revocation/checker.js'
import type { LookupQuery } from '../../src/revocation/store.js'
import { nowSeconds } from '../../src/revocation/store.js'
import { startRedis } from '../helpers/redis.js'
import { commandCalls, redisStore, until } from './fixtures.js'

const OPTIONS: CheckerOptions = { timeoutMs: 50, failMode: 'open', cacheSize: 1000, negativeTtlMs: 30_000 }

let serial = 0
function query (over: Partial<LookupQuery> = {}): LookupQuery {
  serial++
  return { jti: `jti-${serial}`, sid: `sid-${serial}`, sub: `sub-${serial}`, iat: nowSeconds() - 1, ...over }
}

async function timed<T> (fn: () => Promise<T>): Promise<{ value: T, ms: number }> {
  const started = performance.now()
  const value = await fn()
  return { value, ms: performance.now() - started }
}

for (const failMode of ['open', 'closed'] as const) {
  t.test(`FAIL_MODE=${failMode}: a lookup against a paused Redis answers within its budget`, async (t) => {
    const redis = await startRedis()
    t.teardown(() => redis.stop())
    const store = await redisStore(t, redis.url)
    const checker = new RevocationChecker(store, { ...OPTIONS, failMode })
    t.teardown(() => checker.close())
    t.equal(await checker.check(query(), nowSeconds() + 60), 'ok')
    await redis.client.client('PAUSE', 1000, 'ALL')
    const { value, ms } = await timed(async () => await checker.check(query(), nowSeconds() + 60))
    t.equal(value, failMode === 'open' ? 'degraded' : 'unavailable')
    t.ok(ms >= 45 && ms < 400, `answered after ${ms.toFixed(1)} ms with a 50 ms budget`)
  })
}

t.test('a dead Redis opens the breaker; while open no lookup reaches Redis; it closes by itself once Redis is back', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const store = await redisStore(t, redis.url)
  const checker = new RevocationChecker(store, { ...OPTIONS, breaker: { failureThreshold: 5, coolDownMs: 2500 } })
  t.teardown(() => checker.close())
  t.equal(checker.breakerState, 'closed')

  await redis.kill()
  for (let i = 0; i < 4; i++) t.equal(await checker.check(query(), nowSeconds() + 60), 'degraded')
  t.equal(checker.breakerState, 'closed', 'four failures are not enough')
  t.equal(await checker.check(query(), nowSeconds() + 60), 'degraded')
  t.equal(checker.breakerState, 'open', 'the fifth consecutive failure opens it')

  await redis.restart()
  t.ok(await until(() => store.lookupClient.status === 'ready', 2000), 'the lookup connection is back')
  const { value, ms } = await timed(async () => await checker.check(query(), nowSeconds() + 60))
  t.equal(value, 'degraded', 'still open: FAIL_MODE decides')
  t.ok(ms < 20, `at once (${ms.toFixed(2)} ms)`)
  t.equal(commandCalls(await redis.client.info('commandstats'), 'mget'), 0, 'no lookup reached Redis while the breaker was open')

  t.ok(await until(() => checker.breakerState === 'closed', 5000), 'the half-open probe closed it without any traffic')
  t.equal(await checker.check(query(), nowSeconds() + 60), 'ok', 'lookups are answered by Redis again')
})

t.test('FAIL_MODE=closed: an open breaker refuses at once instead of spending the budget on a slow Redis', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const store = await redisStore(t, redis.url)
  const checker = new RevocationChecker(store, { ...OPTIONS, failMode: 'closed', breaker: { failureThreshold: 3, coolDownMs: 300 } })
  t.teardown(() => checker.close())
  await redis.client.client('PAUSE', 800, 'ALL')
  for (let i = 0; i < 3; i++) t.equal(await checker.check(query(), nowSeconds() + 60), 'unavailable')
  t.equal(checker.breakerState, 'open', 'three timeouts in a row open it')
  const { value, ms } = await timed(async () => await checker.check(query(), nowSeconds() + 60))
  t.equal(value, 'unavailable')
  t.ok(ms < 20, `refused in ${ms.toFixed(2)} ms instead of 50`)
  t.ok(await until(() => checker.breakerState === 'closed', 5000), 'closes once the pause is over')
  t.equal(await checker.check(query(), nowSeconds() + 60), 'ok')
})

t.test('a known-revoked token stays revoked while the breaker is open', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const store = await redisStore(t, redis.url)
  const checker = new RevocationChecker(store, { ...OPTIONS, breaker: { failureThreshold: 1, coolDownMs: 5000 } })
  t.teardown(() => checker.close())
  const revoked = query()
  await store.revokeToken(revoked.jti, 60)
  t.equal(await checker.check(revoked, nowSeconds() + 60), 'jti')
  await redis.kill()
  t.equal(await checker.check(query(), nowSeconds() + 60), 'degraded')
  t.equal(checker.breakerState, 'open')
  t.equal(await checker.check(revoked, nowSeconds() + 60), 'jti')
})

t.test('a "not revoked" answer that raced a revocation event is not cached', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const store = await redisStore(t, redis.url)
  // One local mark: the second event evicts the first, so only Redis still knows the first token is revoked.
  const checker = new RevocationChecker(store, { ...OPTIONS, cacheSize: 1 })
  t.teardown(() => checker.close())
  t.ok(await until(() => checker.subscriptionHealthy), 'subscribed')
  const racing = query()
  const expiresAt = nowSeconds() + 60
  const pending = checker.check(racing, expiresAt)
  // The lookup is on the wire and Redis answers "not revoked"; the events arrive before its answer.
  checker.remember({ kind: 'jti', id: racing.jti, expiresAt })
  checker.remember({ kind: 'jti', id: 'another', expiresAt })
  t.equal(await pending, 'ok', 'the racing lookup itself saw no mark')
  await redis.client.set(`revoked:jti:${racing.jti}`, '1', 'EX', 60)
  t.equal(await checker.check(racing, expiresAt), 'jti', 'the next check asks Redis instead of a stale cache entry')
})
