import t, { type Test } from 'tap'
import { RedisLease } from '../../src/ssf/lease.js'
import { sharedRedis } from '../helpers/redis.js'
import { startCluster, startSentinelGroup } from '../helpers/redis-topologies.js'
import { waitFor } from '../helpers/until.js'
import type { RedisConfig } from '../../src/redis/redis-client.js'
import { loadConfig } from '../../src/config/load.js'
import { BASE_ENV } from '../helpers/gateway.js'

function redisOf (env: Readonly<Record<string, string>>): RedisConfig {
  const redis = loadConfig({ ...BASE_ENV, ...env, REDIS_KEY_PREFIX: 'lease:' }).redis
  if (redis === null) throw new Error('no Redis')
  return redis
}

const TTL_MS = 300

async function contract (t: Test, config: RedisConfig): Promise<void> {
  const quiet = { warn () {}, info () {} }
  const a = new RedisLease(config, 'https://tx.example', TTL_MS, quiet, 'SSF poll lease')
  const b = new RedisLease(config, 'https://tx.example', TTL_MS, quiet, 'SSF poll lease')
  const c = new RedisLease(config, 'https://other-tx.example', TTL_MS, quiet, 'SSF poll lease')
  t.teardown(async () => { await Promise.all([a.close(), b.close(), c.close()]) })
  await waitFor(async () => await a.hold(), 'the first replica takes the lease')
  t.notOk(await b.hold(), 'the second does not, while it is held')
  t.ok(await a.hold(), 'the holder renews it')
  t.ok(await c.hold(), 'another transmitter\'s lease is its own')
  // The holder dies: it renews no more. Nobody else may poll until its lease has expired.
  const died = Date.now()
  await waitFor(async () => await b.hold(), 'the second takes over once the lease expired', 5000)
  t.ok(Date.now() - died >= TTL_MS - 50, 'not before the lease lifetime')
  t.notOk(await a.hold(), 'the old holder, back, does not renew a lease another took')
}

t.test('standalone: one holder; another takes over when it dies', async (t) => {
  const redis = await sharedRedis(t)
  await contract(t, { topology: { mode: 'standalone', url: redis.url }, password: null, keyPrefix: redis.prefix(), minReplicasAck: 0 })
})

t.test('Sentinel', async (t) => {
  const group = await startSentinelGroup()
  t.teardown(async () => { await group.stop() })
  await contract(t, redisOf(group.env))
})

t.test('Cluster', async (t) => {
  const cluster = await startCluster()
  t.teardown(async () => { await cluster.stop() })
  await contract(t, redisOf(cluster.env))
})
