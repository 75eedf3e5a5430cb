import t from 'tap'
import { MemoryStore } from '../../src/revocation/memory-store.js'
import { manualClock } from '../helpers/clock.js'
import { startRedis } from '../helpers/redis.js'
import { redisStore } from './fixtures.js'
import { realTime, storeContract } from './store-contract.js'
import { marks } from './marks.js'

storeContract(t, 'memory', async (t) => {
  const clock = manualClock()
  const store = new MemoryStore({ now: clock.now })
  t.teardown(() => store.close())
  return { store, pass: async (ms) => { clock.advance(ms) }, clock: clock.now }
})

storeContract(t, 'redis', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  return { store: await redisStore(t, redis.url), pass: realTime }
})

t.test('redis: every key the store writes has an expiry', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const store = await redisStore(t, redis.url, { keyPrefix: 'tg:' })
  // Every write path of the mark script: new, already there (nx), rewritten, kept (max), moved (max).
  await marks(store).token('a', 30)
  await marks(store).token('a', 300)
  await marks(store).session('b', 40)
  await marks(store).session('b', 20)
  await marks(store).user('c', 1, 50)
  await marks(store).user('c', 2, 10)
  await marks(store).user('c', 1, 5)
  await marks(store).everyone(1, 60)
  await marks(store).everyone(0, 70)
  const keys = await redis.client.keys('*')
  t.same(keys.filter((key) => !key.startsWith('tg:idx:')).sort(), ['tg:all', 'tg:jti:a', 'tg:log', 'tg:sid:b', 'tg:sub:c'], 'nothing outside the prefix, nothing else')
  t.ok(keys.some((key) => key.startsWith('tg:idx:')), 'and the load index (one key per hour of expiry)')
  for (const key of keys) t.ok(await redis.client.ttl(key) > 0, `${key} expires`)
  t.ok(await redis.client.ttl('tg:sub:c') > 40, 'a later user mark keeps the longer lifetime')
  t.equal(await redis.client.get('tg:sub:c'), '2', 'and the later time')
  t.ok(await redis.client.ttl('tg:all') > 60, 'an older global mark extends the lifetime only')
  t.equal(await redis.client.get('tg:all'), '1')
})
