import { spawn } from 'node:child_process'
import { once } from 'node:events'
import t, { type Test } from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { createRedisClient, connectClient } from '../../src/redis/redis-client.js'
import { loadIndex } from '../../src/revocation/redis/index-loader.js'
import { bucketOf } from '../../src/revocation/redis/load-index.js'
import { RedisKeys } from '../../src/revocation/redis/redis-keys.js'
import { RedisStore } from '../../src/revocation/redis/redis-store.js'
import type { RevocationEvent } from '../../src/revocation/store.js'
import { BASE_ENV, startGateway, type Gateway } from '../helpers/gateway.js'
import { MAIN } from '../helpers/cli.js'
import { call } from '../helpers/http.js'
import { freePort, type RedisServer } from '../helpers/redis.js'
import { startCluster } from '../helpers/redis-topologies.js'
import { scrape, valueOf } from '../helpers/scrape.js'
import { nowS, sign } from '../helpers/tokens.js'
import { until, waitFor } from '../helpers/until.js'
import { redisStore, replicaOn } from './fixtures.js'
import { marks } from './marks.js'

// In a Cluster a revocation is three writes in three slots: the log entry (every running replica
// follows it), the load-index record (a starting replica reads it) and the mark (a stale replica's
// lookup reads it). A fault between them must not leave replicas disagreeing: whatever the client
// was told (2xx: all stored; 503: retry, harmless), once the fault clears a follower, a fresh load
// and a Redis lookup all enforce the revocation.

const cluster = await startCluster(3)
t.teardown(() => cluster.stop())
const topology = { mode: 'cluster' as const, nodes: cluster.nodes.map((node) => ({ host: '127.0.0.1', port: node.port })) }
/** The log replay window of the replicas started here: the default (5 s) would be waited out. */
const OVERLAP_MS = 300
const ENV = { ...cluster.env, FAIL_MODE: 'closed', REVOCATION_CHECK_TIMEOUT_MS: '1000', LOG_LEVEL: 'warn' }
const config = loadConfig({ ...BASE_ENV, ...ENV })

const slots: Array<{ from: number, to: number, port: number }> = []
for (const [from, to, ...owners] of await cluster.nodes[0].client.cluster('SLOTS')) slots.push({ from, to, port: owners[0][1] })
async function nodeOf (key: string): Promise<RedisServer> {
  const slot = await cluster.nodes[0].client.cluster('KEYSLOT', key) as number
  const port = slots.find((range) => slot >= range.from && slot <= range.to)?.port
  const node = cluster.nodes.find((candidate) => candidate.port === port)
  if (node === undefined) throw new Error(`no node holds slot ${slot}`)
  return node
}

interface Layout { readonly prefix: string, readonly jti: string, readonly logNode: RedisServer, readonly others: RedisServer[] }

let prefixes = 0
/** A fresh prefix and jti whose index record and mark live on other primaries than the log. */
async function layout (exp: number): Promise<Layout> {
  const expiresAt = exp + config.jwt.clockToleranceS
  for (;;) {
    const keys = new RedisKeys(`wo${++prefixes}:`)
    const logNode = await nodeOf(keys.log)
    const bucket = keys.index(bucketOf(expiresAt, nowS(), Math.max(config.refreshTokenTtlS, config.accessTokenTtlS) + config.jwt.clockToleranceS))
    if (await nodeOf(bucket) === logNode) continue
    for (let i = 0; ; i++) {
      const jti = `jti-${prefixes}-${i}`
      if (await nodeOf(keys.mark('jti', '', jti)) === logNode) continue
      return { prefix: `wo${prefixes}:`, jti, logNode, others: cluster.nodes.filter((node) => node !== logNode) }
    }
  }
}

/** Redis refuses writes on these primaries (a primary that lost its replicas), until heal(). */
function refuseWrites (nodes: readonly RedisServer[]): { heal: () => Promise<void>, ready: Promise<unknown> } {
  return {
    ready: Promise.all(nodes.map(async (node) => await node.client.config('SET', 'min-replicas-to-write', '1'))),
    heal: async () => { await Promise.all(nodes.map(async (node) => await node.client.config('SET', 'min-replicas-to-write', '0'))) }
  }
}

/** These primaries hold every write (CLIENT PAUSE WRITE) for `ms`: commands time out, then run when it lifts. */
function pauseWrites (nodes: readonly RedisServer[], ms: number): { heal: () => Promise<void>, ready: Promise<unknown> } {
  return {
    ready: Promise.all(nodes.map(async (node) => await node.client.client('PAUSE', ms, 'WRITE'))),
    heal: async () => { await Promise.all(nodes.map(async (node) => await node.client.client('UNPAUSE'))) }
  }
}

async function indexed (prefix: string): Promise<RevocationEvent[]> {
  const client = createRedisClient({ ...config.redis!, keyPrefix: prefix }, { name: 'test-loader' })
  await connectClient(client)
  const events: RevocationEvent[] = []
  try {
    await loadIndex(client, new RedisKeys(prefix), 8 * 86_400, { onEvent: (event) => events.push(event), onCurrent: () => {} }, async (p) => await p)
  } finally {
    client.disconnect()
  }
  return events
}

interface Scenario {
  readonly fault: (layout: Layout) => { heal: () => Promise<void>, ready: Promise<unknown> }
  /** What the client may be told: 503 when the fault outlasts the write's budget. */
  readonly status: number
  /** Heal this long after the write started; null: after the client's answer. */
  readonly healAfterMs: number | null
  /** The follower enforces from the client's answer on (false when the log's own node is at fault). */
  readonly followerAtOnce: boolean
}

async function run (t: Test, scenario: Scenario): Promise<void> {
  const exp = nowS() + 900
  const at = await layout(exp)
  const env = { ...ENV, REDIS_KEY_PREFIX: at.prefix }
  const writer = await startGateway(t, env)
  const follower = await startGateway(t, env)
  t.ok(await until(() => writer.app.tokengate.replica.current && follower.app.tokengate.replica.current), 'both follow the log')
  const token = sign({ claims: { sub: 'u-1', sid: `s-${at.jti}`, jti: at.jti, exp } })
  t.equal((await call(`${follower.url}/auth/verify`, { token })).status, 200, 'the token passes before the revocation')

  const fault = scenario.fault(at)
  await fault.ready
  const healing = scenario.healAfterMs === null ? null : setTimeout(() => { fault.heal().catch(() => {}) }, scenario.healAfterMs)
  t.teardown(() => { clearTimeout(healing ?? undefined); return fault.heal() })
  const answer = await call(`${writer.url}/auth/logout`, { method: 'POST', token })
  t.equal(answer.status, scenario.status, `the client was told ${scenario.status}`)
  if (scenario.followerAtOnce) t.equal((await call(`${follower.url}/auth/verify`, { token })).status, 401, 'the follower enforces it from the answer on')
  if (scenario.status === 503) t.equal(await pendingOf(writer), 1, 'the writer reports one roll-forward pending')
  if (scenario.healAfterMs === null) await fault.heal()

  const store = await redisStore(t, topology, { keyPrefix: at.prefix })
  const query = { iss: '', jti: at.jti, sid: 'other', sub: 'other', iat: nowS() - 1 }
  const converge = scenario.status === 503 ? 15_000 : 0
  t.ok(await until(async () => await store.lookup(query) === 'jti', converge, 50), '(a) a Redis lookup, as a stale replica makes it, reports it revoked')
  t.ok((await indexed(at.prefix)).some((event) => event.kind === 'jti' && event.id === at.jti), '(b) the load index, which a starting replica reads, holds it')
  t.equal((await call(`${follower.url}/auth/verify`, { token })).status, 401, '(c) the follower enforces it')
  const fresh = await startGateway(t, env)
  t.equal((await call(`${fresh.url}/auth/verify`, { token })).status, 401, 'a replica started now enforces it')
  t.equal(await pendingOf(writer), 0, 'nothing left to roll forward')
  t.equal(valueOf(await scrape(writer.url), 'tokengate_revocation_rollforward_dropped_total'), 0, 'nothing dropped')
}

async function pendingOf (gateway: Gateway): Promise<number> {
  return valueOf(await scrape(gateway.url), 'tokengate_revocation_rollforward_pending')
}

t.test('index and mark refused past the write budget: 503, then they roll forward', async (t) => {
  await run(t, { fault: (at) => refuseWrites(at.others), status: 503, healAfterMs: null, followerAtOnce: true })
})

t.test('index and mark held past the write budget (timeouts): 503, then they roll forward', async (t) => {
  await run(t, { fault: (at) => pauseWrites(at.others, 3000), status: 503, healAfterMs: null, followerAtOnce: true })
})

t.test('the log node holds the entry past the budget (it may exist): the whole write rolls forward', async (t) => {
  await run(t, { fault: (at) => pauseWrites([at.logNode], 3000), status: 503, healAfterMs: null, followerAtOnce: false })
})

t.test('index and mark refused for less than the write budget: 2xx, and all three are stored', async (t) => {
  await run(t, { fault: (at) => refuseWrites(at.others), status: 200, healAfterMs: 300, followerAtOnce: true })
})

t.test('the writer is killed between the steps: a replica rolls the write forward', async (t) => {
  const exp = nowS() + 900
  const at = await layout(exp)
  const env = { ...ENV, REDIS_KEY_PREFIX: at.prefix }
  const follower = await startGateway(t, env)
  const port = await freePort()
  const writer = spawn(process.execPath, [MAIN, 'serve'], { env: { PATH: process.env.PATH ?? '', ...BASE_ENV, ...env, PORT: String(port) }, stdio: 'ignore' })
  const exited = once(writer, 'exit')
  t.teardown(() => { writer.kill('SIGKILL') })
  const url = `http://127.0.0.1:${port}`
  await waitFor(async () => (await fetch(`${url}/readyz`)).ok, 'the writer to be ready')
  const token = sign({ claims: { sub: 'u-1', sid: `s-${at.jti}`, jti: at.jti, exp } })

  const fault = refuseWrites(at.others)
  await fault.ready
  t.teardown(() => fault.heal())
  const answer = call(`${url}/auth/logout`, { method: 'POST', token }).then((res) => res.status, () => 'no answer')
  t.ok(await until(async () => (await call(`${follower.url}/auth/verify`, { token })).status === 401), 'the log entry is written: the follower enforces it')
  writer.kill('SIGKILL')
  await exited
  t.not(await answer, 200, `the client was not told it is stored (${String(await answer)}): its retry is harmless`)
  // A replica that starts now loads the index (no record yet) and replays the log from a window
  // before its last entry (RELOAD_OVERLAP_MS, 5 s; OVERLAP_MS here): once a later write moved that
  // past the entry, only the pending entry reaches it. The replica is a store and the replica state
  // a gateway builds on it: a gateway's overlap is not configurable.
  const lastEntry = async (): Promise<number> => Number((await at.logNode.client.xrevrange(`${at.prefix}log`, '+', '-', 'COUNT', 1))[0][0].split('-')[0])
  const entryAt = await lastEntry()
  await until(() => Date.now() > entryAt + OVERLAP_MS + 200, 10_000, 20)
  marks(follower.app.tokengate.store).session('a-later-write', 60).catch(() => {})
  t.ok(await until(async () => await lastEntry() > entryAt + OVERLAP_MS), 'a later write appended its entry')
  const late = replicaOn(t, await redisStore(t, topology, { keyPrefix: at.prefix, store: { reloadOverlapMs: OVERLAP_MS } }), { timeoutMs: 1000, failMode: 'closed', maxStalenessMs: 1000 })
  t.ok(await late.replica.whenLoaded(5000), 'the late replica loaded')
  t.equal(late.checker.check({ iss: '', jti: at.jti, sid: 'other', sub: 'other', iat: nowS() - 1 }), 'jti', 'a replica that starts while the write is incomplete, long after its entry, enforces it')
  await fault.heal()

  const query = { iss: '', jti: at.jti, sid: 'other', sub: 'other', iat: nowS() - 1 }
  const lookups = await redisStore(t, topology, { keyPrefix: at.prefix })
  t.equal(await lookups.lookup(query), null, 'nobody finished the write yet')
  // A replica that starts (its store follows the log) finds the entry pending past the idle time.
  const replica = await redisStore(t, topology, { keyPrefix: at.prefix, store: { recovery: { minIdleMs: 300, everyMs: 100 } } })
  const seen: RevocationEvent[] = []
  replica.follow({ onEvent: (event) => seen.push(event), onCurrent: () => {} })
  t.ok(await until(async () => await lookups.lookup(query) === 'jti', 10_000, 50), '(a) a Redis lookup reports it revoked')
  t.ok((await indexed(at.prefix)).some((event) => event.kind === 'jti' && event.id === at.jti), '(b) the load index holds it')
  t.ok(await until(() => seen.some((event) => event.kind === 'jti' && event.id === at.jti)), 'the replica enforces it')
  t.equal((await call(`${follower.url}/auth/verify`, { token })).status, 401, '(c) the follower enforced it throughout')
  const pending = async (): Promise<number> => (await at.logNode.client.xpending(`${at.prefix}log`, 'tokengate-rollforward') as [number])[0]
  t.ok(await until(async () => await pending() === 0, 5000, 50), 'nothing is left pending in the log (the later write included)')
})

t.test('past its bound the queue gives a write up (error log, counted) and a replica finishes it', async (t) => {
  const at = await layout(nowS() + 900)
  const keys = new RedisKeys(at.prefix)
  let second = ''
  for (let i = 0; second === ''; i++) if (await nodeOf(keys.mark('jti', '', `${at.jti}-${i}`)) !== at.logNode) second = `${at.jti}-${i}`
  const errors: string[] = []
  const logger = { warn: () => {}, info: () => {}, error: (_obj: object, msg: string) => { errors.push(msg) } }
  const store = new RedisStore({ topology, password: null, keyPrefix: at.prefix, minReplicasAck: 0 }, logger, { maxPendingRollForwards: 1 })
  t.teardown(() => store.close())
  await store.connect(5000)

  const fault = refuseWrites(at.others)
  await fault.ready
  t.teardown(() => fault.heal())
  const writes = await Promise.allSettled([marks(store).token(at.jti, 900), marks(store).token(second, 900)])
  t.same(writes.map((write) => write.status), ['rejected', 'rejected'], 'both answered 503')
  t.same(store.rollForwardStats, { pending: 1, dropped: 1 }, 'one rolls forward, the other is given up')
  t.match(errors, [/roll-forward DROPPED/], 'the drop is logged at error level')
  await fault.heal()

  const replica = await redisStore(t, topology, { keyPrefix: at.prefix, store: { recovery: { minIdleMs: 300, everyMs: 100 } } })
  replica.follow({ onEvent: () => {}, onCurrent: () => {} })
  for (const jti of [at.jti, second]) {
    t.ok(await until(async () => await replica.lookup({ iss: '', jti, sid: 'x', sub: 'x', iat: nowS() }) === 'jti', 10_000, 50), `${jti}: a Redis lookup reports it revoked`)
  }
  t.ok((await indexed(at.prefix)).filter((event) => event.kind === 'jti').length >= 2, 'the load index holds both')
  t.ok(await until(() => store.rollForwardStats.pending === 0, 10_000, 50), 'the writer finished its own')
})
