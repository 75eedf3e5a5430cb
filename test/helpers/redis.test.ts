import t from 'tap'
import { startRedis } from './redis.js'

t.test('spawned redis answers on its own port, not 6379', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  t.not(redis.port, 6379)
  t.equal(await redis.client.ping(), 'PONG')
})
