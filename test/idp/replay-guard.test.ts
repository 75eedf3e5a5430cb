import fc from 'fast-check'
import t, { type Test } from 'tap'
import { MemoryReplayGuard, RedisReplayGuard, replayKey, type ReplayGuard } from '../../src/idp/replay-guard.js'
import type { RedisConfig } from '../../src/redis/redis-client.js'
import { startRedis } from '../helpers/redis.js'
import { startCluster, startSentinelGroup } from '../helpers/redis-topologies.js'
import { nowS } from '../helpers/tokens.js'
import { until } from '../helpers/until.js'

const LATER = (): number => nowS() + 300

t.test('memory: an id is accepted once per scope until its time, whatever the strings (property)', async () => {
  await fc.assert(fc.asyncProperty(fc.array(fc.tuple(fc.string(), fc.string()), { maxLength: 40 }), async (pairs) => {
    const guard = new MemoryReplayGuard()
    const seen = new Set<string>()
    for (const [scope, id] of pairs) {
      const first = !seen.has(JSON.stringify([scope, id]))
      seen.add(JSON.stringify([scope, id]))
      if (await guard.claim(scope, id, LATER()) !== first) return false
    }
    return true
  }))
})

t.test('memory: an id whose time passed may be used again; a table full of live ids refuses instead of forgetting one', async (t) => {
  let ms = Date.now()
  const guard = new MemoryReplayGuard({ maxIds: 2, now: () => ms })
  const s = Math.floor(ms / 1000)
  t.equal(await guard.claim('a', '1', s + 10), true)
  t.equal(await guard.claim('a', '2', s + 100), true)
  await t.rejects(guard.claim('a', '3', s + 100), { name: 'ReplayGuardFull' }, 'full: no answer rather than a forgotten id')
  t.equal(await guard.claim('a', '1', s + 10), false, 'still a replay')
  ms += 11_000
  t.equal(await guard.claim('a', '1', s + 100), true, 'its time passed: used again, in the room it left')
  await t.rejects(guard.claim('a', '3', s + 100), { name: 'ReplayGuardFull' }, 'two live ids again: full')
})

t.test('the Redis key is a digest: any scope or id is a safe key, and scopes never meet', async (t) => {
  const key = replayKey('p:', 'iss\0a', 'b')
  t.match(key, /^p:replay:[\w-]{43}$/)
  t.not(replayKey('p:', 'a', 'b\0c'), replayKey('p:', 'a\0b', 'c'))
})

async function twoGuards (t: Test, config: RedisConfig): Promise<[ReplayGuard, ReplayGuard]> {
  const a = new RedisReplayGuard(config)
  const b = new RedisReplayGuard(config)
  t.teardown(async () => { await a.close(); await b.close() })
  return [a, b]
}

async function sharedAcrossReplicas (t: Test, config: RedisConfig): Promise<void> {
  const [a, b] = await twoGuards(t, config)
  t.ok(await until(async () => await a.claim('warm', String(Math.random()), LATER()).catch(() => false), 5000), 'connected')
  const ids = Array.from({ length: 50 }, (_, i) => `jti-${i}`)
  const answers = await Promise.all(ids.flatMap((id) => [a.claim('https://idp.example', id, LATER()), b.claim('https://idp.example', id, LATER())]))
  for (let i = 0; i < ids.length; i++) t.equal(Number(answers[2 * i]) + Number(answers[2 * i + 1]), 1, `${ids[i]}: accepted by exactly one replica`)
  t.equal(await a.claim('https://other.example', 'jti-0', LATER()), true, 'the same id in another scope is another id')
}

const standaloneConfig = (url: string): RedisConfig => ({ topology: { mode: 'standalone', url }, password: null, keyPrefix: 'tg:', minReplicasAck: 0 })

t.test('standalone Redis: two replicas racing on the same ids accept each exactly once; Redis down rejects, never accepts', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const config = standaloneConfig(redis.url)
  await sharedAcrossReplicas(t, config)
  const [a] = await twoGuards(t, config)
  t.ok(await until(async () => await a.claim('s', 'warm', LATER()).catch(() => false), 5000))
  t.ok(await redis.client.ttl(replayKey('tg:', 's', 'warm')) > 250, 'kept in Redis until its time (EXAT)')
  await redis.kill()
  await t.rejects(a.claim('s', 'during-outage', LATER()), 'Redis down: no answer, so the caller says "try again"')
})

t.test('Sentinel: shared by every replica', async (t) => {
  const group = await startSentinelGroup()
  t.teardown(() => group.stop())
  const sentinels = group.env.REDIS_SENTINELS.split(',').map((hp) => { const [host, port] = hp.split(':'); return { host, port: Number(port) } })
  await sharedAcrossReplicas(t, { topology: { mode: 'sentinel', sentinels, name: group.env.REDIS_SENTINEL_NAME }, password: null, keyPrefix: 'tg:', minReplicasAck: 0 })
})

t.test('Cluster: shared by every replica, keys spread over the slots', async (t) => {
  const cluster = await startCluster()
  t.teardown(() => cluster.stop())
  const nodes = cluster.env.REDIS_CLUSTER_NODES.split(',').map((hp) => { const [host, port] = hp.split(':'); return { host, port: Number(port) } })
  await sharedAcrossReplicas(t, { topology: { mode: 'cluster', nodes }, password: null, keyPrefix: 'tg:', minReplicasAck: 0 })
})

t.test('an owner asking again for its own id is answered true; anyone else, or no owner, is a replay (memory and Redis)', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const guards: Array<[string, ReplayGuard]> = [['memory', new MemoryReplayGuard()], ['redis', new RedisReplayGuard(standaloneConfig(redis.url))]]
  for (const [name, guard] of guards) {
    t.teardown(async () => { await guard.close() })
    t.ok(await until(async () => await guard.claim('warm', name, LATER()).catch(() => false), 5000))
    t.equal(await guard.claim('dpop', 'j-1', LATER(), 'req-a'), true, `${name}: first claim`)
    t.equal(await guard.claim('dpop', 'j-1', LATER(), 'req-a'), true, `${name}: the same request asking again (a proxy's re-ask)`)
    t.equal(await guard.claim('dpop', 'j-1', LATER(), 'req-b'), false, `${name}: another request: a replay`)
    t.equal(await guard.claim('dpop', 'j-1', LATER()), false, `${name}: no owner: a replay`)
    t.equal(await guard.claim('idp', 'm-1', LATER()), true, `${name}: without owners, once`)
    t.equal(await guard.claim('idp', 'm-1', LATER(), '1'), false, `${name}: an owner never matches an ownerless claim`)
  }
})
