import t from 'tap'
import { sharedRedis, startRedis } from './redis.js'

t.test('spawned redis answers on its own port, not 6379', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  t.not(redis.port, 6379)
  t.equal(await redis.client.ping(), 'PONG')
})

const shared = await sharedRedis(t)

t.test('a shared redis gives each test a prefix of its own', async (t) => {
  const prefixes = [shared.prefix(), shared.prefix(), shared.env().REDIS_KEY_PREFIX]
  t.equal(new Set(prefixes).size, 3)
  t.equal(shared.env().REDIS_URL, shared.url)
  t.equal(await shared.client.ping(), 'PONG')
})
