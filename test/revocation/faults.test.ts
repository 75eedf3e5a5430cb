import t from 'tap'
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { sharedRedis, startRedis, type RedisServer, type SharedRedis } from '../helpers/redis.js'
import { sign } from '../helpers/tokens.js'
import { msUntil, until } from '../helpers/until.js'

// Issue 12: replica B reaches Redis through a proxy that fails the way networks do; A writes.
const MAX_STALENESS_MS = 1000
const ENV = { FAIL_MODE: 'closed', REVOCATION_CHECK_TIMEOUT_MS: '50', MAX_STALENESS_MS: String(MAX_STALENESS_MS), LOG_LEVEL: 'warn' }

// One redis-server for the file, a key prefix per test; the test that kills Redis has its own.
const shared = await sharedRedis(t)

interface Setup { redis: RedisServer | SharedRedis, prefix: string, proxy: FaultProxy, a: Gateway, b: Gateway }

async function setup (t: Parameters<typeof startGateway>[0], env: Record<string, string> = {}, redis: RedisServer | SharedRedis = shared): Promise<Setup> {
  const prefix = 'prefix' in redis ? redis.prefix() : 'revoked:'
  const proxy = await startFaultProxy(redis.port)
  t.teardown(() => proxy.close())
  const a = await startGateway(t, { ...ENV, ...env, REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix })
  const b = await startGateway(t, { ...ENV, ...env, REDIS_URL: proxy.url, REDIS_KEY_PREFIX: prefix })
  if (!await until(() => b.app.tokengate.replica.current)) throw new Error('B did not load its state')
  return { redis, prefix, proxy, a, b }
}

function claimsOf (token: string): { jti: string, exp: number } {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { jti: string, exp: number }
}

async function revokeThrough (gw: Gateway, token: string): Promise<void> {
  const { jti, exp } = claimsOf(token)
  await gw.app.tokengate.revoker.token('', jti, exp, 'admin_token_revoked')
}

async function status (gw: Gateway, token: string): Promise<number> {
  return (await call(`${gw.url}/auth/verify`, { token })).status
}

const FAULTS = [['blackhole', (proxy: FaultProxy) => proxy.blackhole()], ['reset', (proxy: FaultProxy) => proxy.reset()]] as const

for (const [name, fault] of FAULTS) {
  t.test(`${name} between B and Redis: a revocation through A stops passing on B within MAX_STALENESS_MS + 250 ms (FAIL_MODE=closed), and after the fault B denies every revocation written during it within 1 s`, async (t) => {
    const { proxy, a, b } = await setup(t)
    const first = sign()
    t.equal(await status(b, first), 200)
    fault(proxy)
    await revokeThrough(a, first)
    const stopped = await msUntil(async () => await status(b, first) !== 200, MAX_STALENESS_MS + 250)
    t.ok(stopped <= MAX_STALENESS_MS + 250, `B stopped passing it after ${stopped.toFixed(0)} ms`)
    t.equal(await status(b, first), 503, 'refused: B cannot know, FAIL_MODE=closed')

    const during = Array.from({ length: 20 }, () => sign())
    for (const token of during) await revokeThrough(a, token)
    const fine = sign()
    proxy.heal()
    const caughtUp = await msUntil(async () => {
      const answers = await Promise.all([first, ...during].map(async (token) => await status(b, token)))
      return answers.every((answer) => answer === 401)
    }, 1000)
    t.ok(caughtUp <= 1000, `B denies all ${during.length + 1} revocations ${caughtUp.toFixed(0)} ms after the fault ended`)
    t.equal(await status(b, fine), 200, 'and serves the others')
  })
}

t.test('FAIL_MODE=open during a blackhole decides from the last complete state: revoked before the fault stays denied', async (t) => {
  const { proxy, a, b } = await setup(t, { FAIL_MODE: 'open' })
  const before = sign()
  await revokeThrough(a, before)
  t.ok(await until(async () => await status(b, before) === 401, 1000, 5), 'B learnt it from the log')
  proxy.blackhole()
  t.ok(await until(() => !b.app.tokengate.replica.current, MAX_STALENESS_MS + 500), 'B knows its state may be stale')
  t.equal(await status(b, before), 401, 'a revocation from before the fault: denied')
  t.equal(await status(b, sign()), 200, 'an unknown token: allowed (open)')
  const health = await call(`${b.url}/admin/health`, { token: sign({ claims: { roles: ['admin'] } }) })
  t.match(health.body, { status: 'degraded', revocation_state: { loaded: true, current: false } }, 'and health says by how much')
  t.ok(health.body.revocation_state.staleness_ms > MAX_STALENESS_MS)
  proxy.heal()
})

t.test('B restarted while revocations are written: the new B denies every acknowledged one', async (t) => {
  const { redis, prefix, a, b } = await setup(t)
  const acknowledged: string[] = []
  const writing = { on: true }
  const writer = (async () => {
    while (writing.on) {
      const token = sign()
      await revokeThrough(a, token)
      acknowledged.push(token)
    }
  })()
  await b.app.close()
  const again = await startGateway(t, { ...ENV, REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix })
  writing.on = false
  await writer
  t.ok(acknowledged.length > 10, `${acknowledged.length} revocations written across the restart`)
  const all = await msUntil(async () => (await Promise.all(acknowledged.map(async (token) => await status(again, token)))).every((s) => s === 401), 1000)
  t.ok(all <= 1000, `all denied within ${all.toFixed(0)} ms of start`)
  t.equal((await call(`${again.url}/readyz`)).status, 200, 'ready: the state is loaded')
})

t.test('a log trimmed past B\'s position during a fault: B reloads the full state from the marks', async (t) => {
  const { redis, prefix, proxy, a, b } = await setup(t)
  proxy.blackhole()
  const during = Array.from({ length: 10 }, () => sign())
  for (const token of during) await revokeThrough(a, token)
  // An operator's XTRIM MAXLEN (or anything else) dropped entries B had not read.
  await redis.client.xtrim(`${prefix}log`, 'MAXLEN', 0)
  proxy.heal()
  const all = await msUntil(async () => (await Promise.all(during.map(async (token) => await status(b, token)))).every((s) => s === 401), 1000)
  t.ok(all <= 1000, `B denies all ${during.length} within ${all.toFixed(0)} ms`)
  t.equal(b.app.tokengate.replica.reloads, 1, 'by one full reload')
})

t.test('a position ahead of the primary\'s last id (a failover lost entries): B reloads and follows the new log', async (t) => {
  const { redis, prefix, a, b } = await setup(t)
  const early = sign()
  await revokeThrough(a, early)
  t.ok(await until(async () => await status(b, early) === 401, 1000, 5))
  // The new primary's log ends before what B has read; its connection drops as in a failover.
  await redis.client.del(`${prefix}log`)
  await redis.client.xadd(`${prefix}log`, '1-1', 'k', 'session', 'i', 'old', 'e', '1')
  const clients = await redis.client.client('LIST') as string
  // Two gateways, two followers: drop both connections (A reloads too, harmlessly).
  for (const line of clients.split('\n').filter((l) => l.includes('name=tokengate-follower'))) {
    await redis.client.client('KILL', 'ID', /id=(\d+)/.exec(line)?.[1] ?? '0')
  }
  t.ok(await until(() => b.app.tokengate.replica.reloads >= 1, 2000), 'B reloaded')
  const after = sign()
  await revokeThrough(a, after)
  t.ok(await until(async () => await status(b, after) === 401, 1000, 5), 'a later revocation reaches B')
  t.equal(await status(b, early), 401, 'and the earlier one is still denied')
})

// Ten times every cache the gateways are given, and four doublings of the replicas' mark table
// (1024 slots at first): 50,000 against the default caches cost 19 s of CPU.
const FLOOD = 10_000
const FLOOD_CACHES = { LOCAL_CACHE_SIZE: '1000', JWT_VERIFY_CACHE_SIZE: '1000' }

t.test('a flood of revocations, ten times every cache, does not make any replica forget an earlier one', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const { a, b } = await setup(t, { FAIL_MODE: 'open', ...FLOOD_CACHES }, redis)
  const stolen = sign({ claims: { sub: 'victim' } })
  await revokeThrough(a, stolen)
  const jtis = Array.from({ length: FLOOD }, (_, i) => `flood-${i}`)
  const exp = Math.floor(Date.now() / 1000) + 600
  for (let i = 0; i < jtis.length; i += 1000) {
    await Promise.all(jtis.slice(i, i + 1000).map(async (jti) => await a.app.tokengate.revoker.token('', jti, exp, 'admin_token_revoked')))
  }
  t.ok(await until(() => b.app.tokengate.replica.marks.size(Math.floor(Date.now() / 1000)) >= FLOOD + 1, 5000), `B holds all ${FLOOD + 1} marks`)
  // The next Redis stall: every replica decides from its own state (FAIL_MODE=open).
  await redis.kill()
  t.ok(await until(() => !a.app.tokengate.replica.current && !b.app.tokengate.replica.current, MAX_STALENESS_MS + 500), 'both know their state may be stale')
  t.equal(await status(a, stolen), 401, 'A still denies the stolen token')
  t.equal(await status(b, stolen), 401, 'and so does B')
})
