import t from 'tap'
import { RedisReplayGuard } from '../../src/idp/replay-guard.js'
import type { RedisConfig } from '../../src/redis/redis-client.js'
import { MemoryStore } from '../../src/revocation/memory-store.js'
import { ReplicaState } from '../../src/revocation/replica-state.js'
import { Readiness } from '../../src/routes/readiness.js'
import { startRedis } from '../helpers/redis.js'
import { until } from '../helpers/until.js'

// DPoP's replay guard has its own Redis connection (RFC 9449 §11.1: each proof claimed once, across
// replicas). Readiness waits for it once, like a key set: before, every DPoP request is a 503.
t.test('readiness waits for the replay guard\'s first connection, and only the first', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  await redis.kill()
  const config: RedisConfig = { topology: { mode: 'standalone', url: redis.url }, password: null, keyPrefix: 'tg:', minReplicasAck: 0 }
  const guard = new RedisReplayGuard(config)
  t.teardown(() => guard.close())
  const store = new MemoryStore()
  const replica = new ReplicaState(store, { maxStalenessMs: 1000 })
  t.teardown(() => { replica.close() })
  t.ok(await replica.whenLoaded(5000), 'the revocation state is loaded')
  const readiness = new Readiness(replica, [], false, [guard])
  t.equal(readiness.status, 'loading', 'state loaded, replay guard never connected: loading')
  t.equal(new Readiness(replica, [], false).status, 'ready', 'without DPoP nothing else is waited for')
  await redis.restart()
  t.ok(await until(() => guard.connectedOnce, 10_000), 'the guard connects once Redis listens')
  t.equal(readiness.status, 'ready')
  await redis.kill()
  t.ok(await until(async () => await guard.claim('s', 'id', Date.now() / 1000 + 60).then(() => false, () => true), 5000), 'Redis down again: a claim fails')
  t.equal(readiness.status, 'ready', 'an outage after the first connection does not take the replica out')
})
