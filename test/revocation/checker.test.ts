import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import type { CheckerOptions } from '../../src/revocation/checker.js'
import type { ReplicaStateOptions } from '../../src/revocation/replica-state.js'
import type { LookupQuery } from '../../src/revocation/store.js'
import { nowSeconds } from '../../src/revocation/store.js'
import { MemoryStore } from '../../src/revocation/memory-store.js'
import { LOG_BLOCK_MS } from '../../src/revocation/redis/redis-store.js'
import { jumpingClock, manualClock } from '../helpers/clock.js'
import { sharedRedis, startRedis } from '../helpers/redis.js'
import { until } from '../helpers/until.js'
import { commandCalls, redisStore, replicaOn } from './fixtures.js'
import { marks } from './marks.js'

const OPTIONS: CheckerOptions & ReplicaStateOptions = { timeoutMs: 50, failMode: 'open', maxStalenessMs: 1000 }

let serial = 0
function query (over: Partial<LookupQuery> = {}): LookupQuery {
  serial++
  return { iss: '', jti: `jti-${serial}`, sid: `sid-${serial}`, sub: `sub-${serial}`, iat: nowSeconds() - 1, ...over }
}

/**
 * A named pause on Redis' time, not ours: the follower's read in flight when a
 * CLIENT PAUSE began (BLOCK LOG_BLOCK_MS) has answered after it, and cannot make
 * the state current after a clock jump. Nothing observable marks that moment.
 */
async function inFlightReadAnswered (): Promise<void> {
  await sleep(LOG_BLOCK_MS + 150)
}

async function timed<T> (fn: () => Promise<T>): Promise<{ value: T, ms: number }> {
  const started = performance.now()
  const value = await fn()
  return { value, ms: performance.now() - started }
}

// One redis-server for the file, a key prefix per test; a test that kills Redis starts its own (ownRedis).
const shared = await sharedRedis(t)
type Options = Partial<CheckerOptions & ReplicaStateOptions>

async function stateOn (t: Parameters<typeof redisStore>[0], url: string, keyPrefix: string, options: Options) {
  const store = await redisStore(t, url, { keyPrefix })
  const clock = jumpingClock()
  const { replica, checker } = replicaOn(t, store, { ...OPTIONS, now: clock.now, ...options })
  if (!await replica.whenLoaded(3000)) throw new Error('state not loaded')
  return { store, replica, checker, clock }
}

async function setup (t: Parameters<typeof redisStore>[0], options: Options = {}) {
  return { redis: shared, ...await stateOn(t, shared.url, shared.prefix(), options) }
}

async function ownRedis (t: Parameters<typeof redisStore>[0], options: Options = {}) {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  return { redis, ...await stateOn(t, redis.url, 'revoked:', options) }
}

t.test('a current state answers never-seen tokens with no Redis command (issue 12: <= 0.01 per cold request)', async (t) => {
  const { redis, checker } = await setup(t)
  const before = await redis.client.info('commandstats')
  for (let i = 0; i < 1000; i++) {
    const outcome = await checker.check(query())
    if (outcome !== 'ok') throw new Error(`not answered locally: ${String(outcome)}`)
  }
  const after = await redis.client.info('commandstats')
  for (const command of ['mget', 'get', 'exists']) {
    t.equal(commandCalls(after, command) - commandCalls(before, command), 0, `no ${command} for 1000 cold checks`)
  }
})

for (const failMode of ['open', 'closed'] as const) {
  t.test(`FAIL_MODE=${failMode}: past MAX_STALENESS_MS a lookup confirms; against a paused Redis it answers within its budget`, async (t) => {
    const { redis, replica, checker, clock } = await setup(t, { failMode })
    await redis.client.client('PAUSE', 1000, 'ALL')
    await inFlightReadAnswered()
    t.equal(await checker.check(query()), 'ok', 'within MAX_STALENESS_MS the local state decides')
    clock.jump(2000)
    t.notOk(replica.current, 'the state may now be older than MAX_STALENESS_MS')
    const { value, ms } = await timed(async () => await checker.check(query()))
    t.equal(value, failMode === 'open' ? 'degraded' : 'unavailable')
    t.ok(ms >= 45 && ms < 400, `answered after ${ms.toFixed(1)} ms with a 50 ms budget`)
    t.ok(await until(() => replica.current, 3000), 'current again once Redis answers')
  })
}

t.test('a stale state and a dead Redis open the breaker; while open no lookup is tried; the log follower brings the state back', async (t) => {
  const { redis, replica, checker, clock } = await ownRedis(t, { breaker: { failureThreshold: 5, coolDownMs: 1000 } })
  await redis.kill()
  clock.jump(2000)
  for (let i = 0; i < 4; i++) t.equal(await checker.check(query()), 'degraded')
  t.equal(checker.breakerState, 'closed', 'four failures are not enough')
  t.equal(await checker.check(query()), 'degraded')
  t.equal(checker.breakerState, 'open', 'the fifth consecutive failure opens it')
  const { value, ms } = await timed(async () => await checker.check(query()))
  t.equal(value, 'degraded', 'open: FAIL_MODE decides')
  t.ok(ms < 20, `at once (${ms.toFixed(2)} ms)`)

  await redis.restart()
  t.ok(await until(() => replica.current, 3000), 'the follower reconnected and proved the state current')
  t.equal(await checker.check(query()), 'ok', 'decided locally again, whatever the breaker')
  t.ok(await until(() => checker.breakerState === 'closed', 5000), 'the half-open probe closed it without any traffic')
})

t.test('FAIL_MODE=closed: an open breaker refuses at once instead of spending the budget on a slow Redis', async (t) => {
  const { redis, replica, checker, clock } = await setup(t, { failMode: 'closed', breaker: { failureThreshold: 3, coolDownMs: 300 } })
  await redis.client.client('PAUSE', 1000, 'ALL')
  await inFlightReadAnswered()
  clock.jump(2000)
  for (let i = 0; i < 3; i++) t.equal(await checker.check(query()), 'unavailable')
  t.equal(checker.breakerState, 'open', 'three timeouts in a row open it')
  const { value, ms } = await timed(async () => await checker.check(query()))
  t.equal(value, 'unavailable')
  t.ok(ms < 20, `refused in ${ms.toFixed(2)} ms instead of 50`)
  t.ok(await until(() => replica.current, 5000), 'current once the pause is over')
  t.equal(await checker.check(query()), 'ok')
})

for (const failMode of ['open', 'closed'] as const) {
  t.test(`FAIL_MODE=${failMode}: a token revoked before the fault stays revoked from the last complete state`, async (t) => {
    const { redis, store, checker, clock } = await ownRedis(t, { failMode, breaker: { failureThreshold: 1, coolDownMs: 5000 } })
    const revoked = query()
    const user = query()
    await marks(store).token(revoked.jti, 60)
    await marks(store).user(user.sub, nowSeconds(), 60)
    t.ok(await until(async () => await checker.check(revoked) === 'jti' && await checker.check(user) === 'user', 1000, 1), 'learnt from the log')
    await redis.kill()
    clock.jump(2000)
    t.equal(await checker.check(query()), failMode === 'open' ? 'degraded' : 'unavailable', 'an unknown token: FAIL_MODE')
    t.equal(checker.breakerState, 'open')
    t.equal(await checker.check(revoked), 'jti', 'the revoked token: denied, without Redis')
    t.equal(await checker.check(user), 'user')
  })
}

t.test('a mark leaves the local state when it expires: denied up to its expiry, allowed after (one clock, no sleep)', async (t) => {
  const clock = manualClock()
  const store = new MemoryStore({ now: clock.now })
  t.teardown(() => store.close())
  const { replica, checker } = replicaOn(t, store, { ...OPTIONS, now: clock.now })
  const revoked = query({ iat: nowSeconds(clock.now) - 1 })
  await marks(store).token(revoked.jti, 60)
  t.equal(await checker.check(revoked), 'jti')
  clock.advance(59_000)
  t.equal(await checker.check(revoked), 'jti', 'one second before its expiry: still denied')
  clock.advance(1000)
  t.equal(await checker.check(revoked), 'ok', 'expired: the token\'s own exp decides again')
  t.equal(replica.prune(), 1, 'and the sweep drops it')
})
