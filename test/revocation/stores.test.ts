import t from 'tap'
import { MemoryStore } from '../../src/revocation/memory-store.js'
import { RedisStore } from '../../src/revocation/redis-store.js'
import { startRedis } from '../helpers/redis.js'
import { storeContract } from './store-contract.js'

const silent = { warn: () => {}, info: () => {} }

storeContract(t, 'memory', async (t) => {
  const store = new MemoryStore()
  t.teardown(() => store.close())
  return store
})

storeContract(t, 'redis', async (t) => {
  const redis = await startRedis()
  const store = new RedisStore({ topology: { mode: 'standalone', url: redis.url }, password: null, keyPrefix: 'revoked:', minReplicasAck: 0 }, silent)
  await store.connect(2000)
  t.teardown(async () => {
    await store.close()
    await redis.stop()
  })
  return store
})

t.test('redis: every key written has an expiry', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const store = new RedisStore({ topology: { mode: 'standalone', url: redis.url }, password: null, keyPrefix: 'tg:', minReplicasAck: 0 }, silent)
  await store.connect(2000)
  t.teardown(() => store.close())
  await store.revokeToken('a', 30)
  await store.revokeSession('b', 40)
  await store.revokeUser('c', 1, 50)
  await store.revokeUser('c', 2, 10)
  await store.revokeAll(1, 60)
  const keys = await redis.client.keys('*')
  t.same(keys.sort(), ['tg:all', 'tg:jti:a', 'tg:sid:b', 'tg:sub:c'])
  for (const key of keys) t.ok(await redis.client.ttl(key) > 0, `${key} expires`)
  t.ok(await redis.client.ttl('tg:sub:c') > 40, 'a later user mark keeps the longer lifetime')
  t.equal(await redis.client.get('tg:sub:c'), '2')
})
