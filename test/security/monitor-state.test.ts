import t from 'tap'
import { MemoryMonitorState } from '../../src/security/memory-state.js'
import type { RedisTopology } from '../../src/config/types.js'
import type { MonitorState } from '../../src/security/monitor-state.js'
import { RedisMonitorState } from '../../src/security/redis-state.js'
import { startRedis } from '../helpers/redis.js'
import { startCluster } from '../helpers/redis-topologies.js'

const MINUTE = 60_000
const HOUR_S = 3600

type Make = (t: Tap, now: () => number) => Promise<MonitorState>
interface Tap { teardown: (fn: () => unknown) => void }

const makers: Array<[string, Make]> = [
  ['memory', async (_t, now) => new MemoryMonitorState(now)],
  ['redis', async (t, now) => {
    const redis = await startRedis()
    t.teardown(() => redis.stop())
    return await redisState(t, { mode: 'standalone', url: redis.url }, now)
  }],
  // A batch's keys live in different slots there: the contract must hold all the same.
  ['redis cluster', async (t, now) => {
    const cluster = await startCluster()
    t.teardown(() => cluster.stop())
    return await redisState(t, { mode: 'cluster', nodes: cluster.nodes.map((node) => ({ host: '127.0.0.1', port: node.port })) }, now)
  }]
]

async function redisState (t: Tap, topology: RedisTopology, now: () => number): Promise<MonitorState> {
  const state = new RedisMonitorState({ topology, password: null, keyPrefix: 'test:', minReplicasAck: 0 }, () => {}, now)
  t.teardown(() => state.close())
  for (let i = 0; i < 300 && !state.ready; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  return state
}

// One contract, both implementations: what the monitor relies on.
for (const [name, make] of makers) {
  t.test(`${name}: a window counts the last hour and forgets what is older`, async (t) => {
    let clock = Date.UTC(2030, 0, 1, 12, 0, 30)
    const state = await make(t, () => clock)
    t.equal(await state.count('w', 5, HOUR_S), 5)
    clock += 30 * MINUTE
    t.equal(await state.count('w', 1, HOUR_S), 6, 'half an hour later both count')
    clock += 31 * MINUTE
    t.equal(await state.count('w', 1, HOUR_S), 2, 'past the hour the first five are gone')
    t.equal(await state.count('other', 1, HOUR_S), 1, 'keys are independent')
  })

  t.test(`${name}: distinct members within a window`, async (t) => {
    let clock = Date.UTC(2030, 0, 1, 12, 0, 0)
    const state = await make(t, () => clock)
    t.same(await state.distinct([['d', 'a']], 300), [1])
    t.same(await state.distinct([['d', 'a']], 300), [1], 'the same member once')
    t.same(await state.distinct([['d', 'b']], 300), [2])
    clock += 301_000
    t.same(await state.distinct([['d', 'c']], 300), [1], 'older members left the window')
  })

  t.test(`${name}: one call records many windows, and answers in order`, async (t) => {
    const state = await make(t, () => Date.UTC(2030, 0, 1, 12, 0, 0))
    // More pairs than one batched script call takes (256): the answer still lines up.
    const pairs = Array.from({ length: 600 }, (_, i) => [`k${i % 300}`, `m${i}`] as const)
    const counts = await state.distinct(pairs, 300)
    t.equal(counts.length, 600)
    t.same(counts.slice(0, 300), Array(300).fill(1), 'first member of each key')
    t.same(counts.slice(300), Array(300).fill(2), 'second member of each key')
    t.same(await state.distinct([['k1', 'm1'], ['k1', 'm1']], 300), [2, 2], 'a member seen again is not counted twice')
  })

  t.test(`${name}: once is true only the first time; lists are capped, newest first`, async (t) => {
    const state = await make(t, Date.now)
    t.equal(await state.once('k', 60), true)
    t.equal(await state.once('k', 60), false)
    for (let i = 0; i < 5; i++) await state.push('list', `item-${i}`, 3, 60)
    t.same(await state.range('list', 10), ['item-4', 'item-3', 'item-2'])
    t.same(await state.range('list', 1), ['item-4'])
    t.same(await state.range('empty', 10), [])
  })
}

t.test('memory: a window keeps at most 1024 members, so one token cannot grow it without limit', async (t) => {
  const state = new MemoryMonitorState(() => Date.UTC(2030, 0, 1, 12, 0, 0))
  const pairs = Array.from({ length: 5000 }, (_, i) => ['ips:one-token', `10.0.${i >> 8}.${i & 255}`] as const)
  const counts = await state.distinct(pairs, 300)
  t.equal(counts[1023], 1024)
  t.equal(Math.max(...counts), 1024, 'never more')
  t.equal(counts.at(-1), 1024)
})
