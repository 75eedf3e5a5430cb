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
  const issuer = `https://idp.example/${'realm/'.repeat(100)}`
  const mark = marks(store, Date.now, issuer)
  // Every write path of the mark script: new, already there (nx), rewritten, kept (max), moved (max).
  await mark.token('a', 30)
  await mark.token('a', 300)
  await mark.session('b', 40)
  await mark.session('b', 20)
  await mark.user('c', 1, 50)
  await mark.user('c', 2, 10)
  await mark.user('c', 1, 5)
  await mark.everyone(1, 60)
  await mark.everyone(0, 70)
  const keys = await redis.client.keys('*')
  const d = /^tg:all@([A-Za-z0-9_-]{12})$/.exec(keys.find((key) => key.startsWith('tg:all')) ?? '')?.[1]
  t.ok(d, 'a mark of one issuer is keyed by a 12-character digest of it, however long the issuer')
  t.same(keys.filter((key) => !key.startsWith('tg:idx:')).sort(), [`tg:all@${d}`, `tg:jti@${d}:a`, 'tg:log', `tg:sid@${d}:b`, `tg:sub@${d}:c`], 'nothing outside the prefix, nothing else')
  t.ok(keys.some((key) => key.startsWith('tg:idx:')), 'and the load index (one key per hour of expiry)')
  for (const key of keys) t.ok(await redis.client.ttl(key) > 0, `${key} expires`)
  t.ok(await redis.client.ttl(`tg:sub@${d}:c`) > 40, 'a later user mark keeps the longer lifetime')
  t.equal(await redis.client.get(`tg:sub@${d}:c`), '2', 'and the later time')
  t.ok(await redis.client.ttl(`tg:all@${d}`) > 60, 'an older global mark extends the lifetime only')
  t.equal(await redis.client.get(`tg:all@${d}`), '1')
})
