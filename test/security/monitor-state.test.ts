import t from 'tap'
import { MemoryMonitorState } from '../../src/security/memory-state.js'
import type { RedisTopology } from '../../src/redis/redis-client.js'
import type { MonitorConfig } from '../../src/security/monitor.js'
import type { Alert } from '../../src/security/alert.js'
import type { MonitorState } from '../../src/security/monitor-state.js'
import { SecurityMonitor } from '../../src/security/monitor.js'
import { issuerKey } from '../../src/security/sink.js'
import { RedisMonitorState } from '../../src/security/redis-state.js'
import { startRedis } from '../helpers/redis.js'
import { startCluster } from '../helpers/redis-topologies.js'
import { manualClock } from '../helpers/clock.js'
import { until } from '../helpers/until.js'

const MINUTE = 60_000
const HOUR_S = 3600

interface Tap { teardown: (fn: () => unknown) => void }

/** A Redis (standalone or Cluster) shared by the file, a key prefix of the test's own, and the INFO commandstats of each of its primaries. */
interface Backend {
  readonly topology: RedisTopology
  readonly prefix: string
  readonly commandstats: () => Promise<string[]>
  readonly resetStats: () => Promise<void>
}

// One server and one Cluster for the file, started side by side: a Cluster takes seconds to form.
const [redis, cluster] = await Promise.all([startRedis(), startCluster()])
t.teardown(async () => { await Promise.all([redis.stop(), cluster.stop()]) })
let tests = 0
const prefix = (): string => `test${++tests}:`

const backends: Array<[string, () => Backend]> = [
  ['redis', () => ({
    topology: { mode: 'standalone', url: redis.url },
    prefix: prefix(),
    commandstats: async () => [await redis.client.info('commandstats')],
    resetStats: async () => { await redis.client.config('RESETSTAT') }
  })],
  // A batch's keys live in different slots there: the contract must hold all the same.
  ['redis cluster', () => ({
    topology: { mode: 'cluster', nodes: cluster.nodes.map((node) => ({ host: '127.0.0.1', port: node.port })) },
    prefix: prefix(),
    commandstats: async () => await Promise.all(cluster.nodes.map(async (node) => await node.client.info('commandstats'))),
    resetStats: async () => { await Promise.all(cluster.nodes.map(async (node) => await node.client.config('RESETSTAT'))) }
  })]
]

type Make = (t: Tap, now: () => number) => Promise<MonitorState>

const makers: Array<[string, Make]> = [
  ['memory', async (_t, now) => new MemoryMonitorState(now)],
  ...backends.map(([name, start]): [string, Make] => [name, async (t, now) => await redisState(t, start(), now)])
]

async function redisState (t: Tap, { topology, prefix }: Backend, now: () => number = Date.now): Promise<MonitorState> {
  const state = new RedisMonitorState({ topology, password: null, keyPrefix: prefix, minReplicasAck: 0 }, { warn () {}, info () {} }, now)
  t.teardown(() => state.close())
  await until(() => state.ready, 3000)
  return state
}

// Connection upkeep, not the monitor's work.
const HOUSEKEEPING = new Set(['info', 'config', 'cluster', 'ping', 'client', 'command', 'hello', 'select', 'auth', 'readonly'])

/** Every command the primaries executed since the last reset, by name, housekeeping left out. */
async function commandsRun (backend: Backend): Promise<Map<string, number>> {
  const calls = new Map<string, number>()
  for (const info of await backend.commandstats()) {
    for (const [, name, n] of info.matchAll(/cmdstat_([^:]+):calls=(\d+)/g)) {
      if (!HOUSEKEEPING.has(name.split('|')[0])) calls.set(name, (calls.get(name) ?? 0) + Number(n))
    }
  }
  return calls
}

const total = (calls: Map<string, number>): number => [...calls.values()].reduce((sum, n) => sum + n, 0)

// A batch travels to Redis as one JSON string (FIRST_SCRIPT): any key or member, a jti with
// quotes, backslashes, line breaks or any Unicode, must count exactly as the memory state counts it.
for (const [name, start] of backends) {
  t.test(`${name}: any key and member counts as the memory state counts it (property)`, async (t) => {
    const fc = (await import('fast-check')).default
    // Well-formed text: a lone surrogate is sent as U+FFFD (the UTF-8 any Redis client writes), checked below.
    const text = fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }).filter((s) => s.isWellFormed()), fc.constantFrom('"', '\\', '\n', '{}', '[]', 'ips:x', '\u2028'))
    const clock = Date.UTC(2030, 0, 1, 12, 0, 0)
    let run = 0
    await fc.assert(fc.asyncProperty(fc.array(fc.tuple(text, fc.oneof(fc.constantFrom('10.0.0.1', '10.0.0.2', 'é'), text)), { minLength: 1, maxLength: 40 }), async (pairs) => {
      const keys = pairs.map(([key, member]) => [`p${++run}:${key}`, member] as const)
      const memory = new MemoryMonitorState(() => clock)
      const shared = await redisState(t, start(), () => clock)
      return JSON.stringify(await shared.distinct(keys, 300)) === JSON.stringify(await memory.distinct(keys, 300))
    }), { numRuns: 40 })
    const shared = await redisState(t, start(), () => clock)
    t.same(await shared.distinct([['\ud800', 'a'], ['k', 'b']], 300), [1, 1], 'a lone surrogate does not break its batch')
  })
}

// One contract, both implementations: what the monitor relies on.
for (const [name, make] of makers) {
  t.test(`${name}: a window counts the last hour and forgets what is older`, async (t) => {
    const clock = manualClock(Date.UTC(2030, 0, 1, 12, 0, 30))
    const state = await make(t, clock.now)
    t.equal(await state.count('w', 5, HOUR_S), 5)
    clock.advance(30 * MINUTE)
    t.equal(await state.count('w', 1, HOUR_S), 6, 'half an hour later both count')
    clock.advance(31 * MINUTE)
    t.equal(await state.count('w', 1, HOUR_S), 2, 'past the hour the first five are gone')
    t.equal(await state.count('other', 1, HOUR_S), 1, 'keys are independent')
  })

  t.test(`${name}: distinct members within a window`, async (t) => {
    const clock = manualClock(Date.UTC(2030, 0, 1, 12, 0, 0))
    const state = await make(t, clock.now)
    t.same(await state.distinct([['d', 'a']], 300), [1])
    t.same(await state.distinct([['d', 'a']], 300), [0], 'the same member adds nothing')
    t.same(await state.distinct([['d', 'b']], 300), [2])
    t.same(await state.distinct([['d', 'b']], 300), [0], 'nor does a second member seen again')
    t.same(await state.distinct([['d', 'c']], 300), [3])
    clock.advance(301_000)
    t.same(await state.distinct([['d', 'c']], 300), [1], 'older members left the window')
    t.same(await state.distinct([['d', 'a']], 300), [2], 'and count again when seen again')
  })

  t.test(`${name}: one call records many windows, and answers in order`, async (t) => {
    const state = await make(t, () => Date.UTC(2030, 0, 1, 12, 0, 0))
    const pairs = Array.from({ length: 600 }, (_, i) => [`k${i % 300}`, `m${i}`] as const)
    const counts = await state.distinct(pairs, 300)
    t.equal(counts.length, 600)
    t.same(counts.slice(0, 300), Array(300).fill(1), 'first member of each key')
    t.same(counts.slice(300), Array(300).fill(2), 'second member of each key')
    t.same(await state.distinct([['k1', 'm1'], ['k1', 'm301'], ['k1', 'm9']], 300), [0, 0, 3], 'members seen again are not counted twice')
  })

  t.test(`${name}: a window keeps at most 1024 members, so one token cannot grow it without limit`, async (t) => {
    const state = await make(t, () => Date.UTC(2030, 0, 1, 12, 0, 0))
    const pairs = Array.from({ length: 1500 }, (_, i) => ['ips:one-token', `10.0.${i >> 8}.${i & 255}`] as const)
    const counts = await state.distinct(pairs, 300)
    t.equal(counts[1023], 1024)
    t.equal(Math.max(...counts), 1024, 'never more')
    t.equal(counts.at(-1), 1024, 'a new member still counts, in place of the oldest')
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

const THEFT: MonitorConfig = {
  userFailuresPerHour: 0, userTokenRequestsPerHour: 0, ipFailuresPerHour: 0, tokenMaxIps: 3, revokedRetryWindowS: 30, tokenIpWindowS: 300, trackedTokens: 20_000
}

/** One replica's theft detector on the shared Redis; flushed by the test, not by its timer. */
async function replica (t: Tap, backend: Backend, alerts: Alert[]): Promise<SecurityMonitor> {
  const state = await redisState(t, backend)
  const monitor = new SecurityMonitor({
    config: THEFT,
    state,
    fallback: new MemoryMonitorState(),
    flushMs: 3_600_000,
    onAlert: async (alert) => { alerts.push(alert) },
    onActivity: async () => {},
    onStateError: (message) => { throw new Error(`the shared state failed: ${message}`) }
  })
  t.teardown(() => monitor.close())
  return monitor
}

const facts = (ip: string): { ip: string, id: string } => ({ ip, id: 'req-1' })

for (const [name, start] of backends) {
  // Issue 12 item 5: at most one Redis command per never-seen token for all monitoring (was 4: ZADD,
  // ZREMRANGEBYSCORE, EXPIRE, ZCARD per token inside the batched script), counted by Redis itself.
  t.test(`${name}: two replicas cost at most one Redis command per never-seen token, none for a known one`, async (t) => {
    const backend = start()
    const alerts: Alert[] = []
    const [a, b] = [await replica(t, backend, alerts), await replica(t, backend, alerts)]
    await backend.resetStats()
    const tokens = 2000
    for (let i = 0; i < tokens; i++) (i % 2 === 0 ? a : b).used({ sub: 'user', jti: `jti-${i}` }, facts(`198.51.100.${i % 200}`))
    await Promise.all([a.flush(), b.flush()])
    let calls = await commandsRun(backend)
    const flushCost = total(calls)
    t.ok(flushCost <= tokens / 20, `a few commands per flush, not per token: ${flushCost} for ${tokens} tokens (${JSON.stringify(Object.fromEntries(calls))})`)

    for (let i = 0; i < tokens; i++) (i % 2 === 0 ? a : b).used({ sub: 'user', jti: `jti-${i}` }, facts(`198.51.100.${i % 200}`))
    await Promise.all([a.flush(), b.flush()])
    calls = await commandsRun(backend)
    // Nothing per token. A 4-way bucket that drew 5 of a replica's 1,000 tokens (about 1 run in 80
    // with 5,000 buckets) forgets one, which re-sends it: one script call for the batch, not one per token.
    t.ok(total(calls) - flushCost <= 4, `a token used again from its address costs its replica nothing but a rare eviction (${total(calls) - flushCost} commands for ${tokens} tokens: ${JSON.stringify(Object.fromEntries(calls))})`)
    t.same(alerts, [], 'no alert for tokens used from one address each')
  })

  // The detection is unchanged: more than ALERT_TOKEN_MAX_IPS addresses across all replicas within the window.
  t.test(`${name}: a token from two addresses on each of two replicas raises possible theft once`, async (t) => {
    const backend = start()
    const alerts: Alert[] = []
    const [a, b] = [await replica(t, backend, alerts), await replica(t, backend, alerts)]
    const jti = 'stolen-token-jti-0123456789'
    a.used({ sub: 'victim', jti }, facts('192.0.2.1'))
    await a.flush()
    b.used({ sub: 'victim', jti }, facts('192.0.2.1'))
    await b.flush()
    b.used({ sub: 'victim', jti }, facts('203.0.113.9'))
    await b.flush()
    a.used({ sub: 'victim', jti }, facts('192.0.2.1'))
    a.used({ sub: 'victim', jti }, facts('203.0.113.9'))
    await a.flush()
    t.same(alerts, [], 'two addresses, seen by both replicas: within ALERT_TOKEN_MAX_IPS')
    a.used({ sub: 'victim', jti }, facts('203.0.113.10'))
    await a.flush()
    t.same(alerts, [], 'three addresses: not more than ALERT_TOKEN_MAX_IPS=3')
    await backend.resetStats()
    b.used({ sub: 'victim', jti }, facts('198.51.100.77'))
    await b.flush()
    t.match(alerts, [{ type: 'possible_token_theft', severity: 'HIGH', user_id: 'victim', ip: '198.51.100.77', count: 4, threshold: 3, jti: jti.slice(0, 8) }])
    const calls = await commandsRun(backend)
    t.ok(total(calls) <= 14, `a new address of a known token costs a few commands (${JSON.stringify(Object.fromEntries(calls))})`)
    a.used({ sub: 'victim', jti }, facts('198.51.100.78'))
    await a.flush()
    t.equal(alerts.length, 1, 'raised once across the replicas')
  })

  // Issue 18 item 2: a token is the pair (iss, jti). Two issuers minting the same jti are two tokens,
  // each used from its own addresses: counted together they would read as one token on four addresses.
  t.test(`${name}: the same jti of two issuers is two tokens to the theft rule`, async (t) => {
    const backend = start()
    const alerts: Alert[] = []
    const a = await replica(t, backend, alerts)
    const jti = 'shared-jti-0123456789'
    for (const [iss, ips] of [['https://a.example', ['192.0.2.1', '192.0.2.2']], ['https://b.example', ['198.51.100.1', '198.51.100.2']]] as const) {
      for (const ip of ips) a.used({ iss, sub: 'alice', jti }, facts(ip))
    }
    await a.flush()
    t.same(alerts, [], 'two addresses per token: within ALERT_TOKEN_MAX_IPS=3')
    for (const ip of ['192.0.2.3', '192.0.2.4']) a.used({ iss: 'https://a.example', sub: 'alice', jti }, facts(ip))
    await a.flush()
    t.match(alerts, [{ type: 'possible_token_theft', iss: 'https://a.example', user_id: 'alice', count: 4 }], 'A\'s token on its fourth address')
  })

  t.test(`${name}: the window of a token's addresses is capped in Redis`, async (t) => {
    const backend = start()
    const alerts: Alert[] = []
    const a = await replica(t, backend, alerts)
    for (let i = 0; i < 3000; i++) a.used({ sub: 'roamer', jti: 'roaming-jti' }, facts(`10.1.${i >> 8}.${i & 255}`))
    await a.flush()
    const state = await redisState(t, backend)
    t.same(await state.distinct([[`ips:${issuerKey(undefined, 'roaming-jti')}`, '10.9.9.9']], 300), [1024], 'at most 1024 addresses kept per token')
    t.equal(alerts.length, 1)
  })
}
