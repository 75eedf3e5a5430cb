import t from 'tap'
import { nowSeconds } from '../../src/revocation/store.js'
import { startRedis } from '../helpers/redis.js'
import { commandCalls, redisStore } from './fixtures.js'
import { marks } from './marks.js'

t.test('concurrent lookups share MGETs and each gets its own answer', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const store = await redisStore(t, redis.url)
  const iat = nowSeconds() - 10
  await marks(store).token('jti-7', 60)
  await marks(store).session('sid-11', 60)
  await marks(store).user('sub-13', iat, 60)
  const before = commandCalls(await redis.client.info('commandstats'), 'mget')

  // More lookups than one MGET carries (128): answers must still line up with their queries.
  const expected = (i: number): string | null => i === 7 ? 'jti' : i === 11 ? 'session' : i === 13 ? 'user' : null
  const answers = await Promise.all(Array.from({ length: 300 }, async (_, i) =>
    await store.lookup({ iss: '', jti: `jti-${i}`, sid: `sid-${i}`, sub: `sub-${i}`, iat })))
  t.same(answers, Array.from({ length: 300 }, (_, i) => expected(i)))

  const mgets = commandCalls(await redis.client.info('commandstats'), 'mget') - before
  t.ok(mgets >= 3 && mgets <= 10, `300 concurrent lookups took ${mgets} MGETs`)

  await marks(store).everyone(iat, 60)
  const afterGlobal = await Promise.all([1, 2, 3].map(async (i) => await store.lookup({ iss: '', jti: `x-${i}`, sid: `y-${i}`, sub: `z-${i}`, iat })))
  t.same(afterGlobal, ['global', 'global', 'global'], 'the global mark, read once per batch, covers every lookup in it')
})

t.test('a dead Redis rejects every lookup of the batch at once', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const store = await redisStore(t, redis.url)
  await redis.kill()
  const results = await Promise.allSettled([1, 2, 3].map(async (i) => await store.lookup({ iss: '', jti: `j${i}`, sid: `s${i}`, sub: `u${i}`, iat: 0 })))
  t.same(results.map((r) => r.status), ['rejected', 'rejected', 'rejected'])
})
