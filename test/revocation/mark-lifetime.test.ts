import t, { type Test } from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { replicaOn, type Replica } from './fixtures.js'
import { markLifetimeS } from '../../src/revocation/mark-lifetime.js'
import { MemoryStore } from '../../src/revocation/memory-store.js'
import { RedisKeys } from '../../src/revocation/redis/redis-keys.js'
import { RedisStore } from '../../src/revocation/redis/redis-store.js'
import { Revoker } from '../../src/revocation/revoker.js'
import type { LookupQuery, RevocationStore } from '../../src/revocation/store.js'
import { nowSeconds } from '../../src/revocation/store.js'
import { manualClock, type ManualClock } from '../helpers/clock.js'
import { startRedis, type RedisServer } from '../helpers/redis.js'
import { SECRET } from '../helpers/tokens.js'
import { until } from '../helpers/until.js'
import { silent } from './fixtures.js'

// Issue 16 §2: a 90-day service token revoked user-wide passed again from day 8 (marks lived the
// refresh lifetime). With JWT_MAX_TOKEN_LIFETIME=90d every mark outlives every accepted token,
// on the replica that wrote it, on one that loads the state later, and in a store lookup.
const DAY_MS = 86_400_000
const config = loadConfig({ JWT_SECRET: SECRET, JWT_MAX_TOKEN_LIFETIME: '90d' })
const OPTIONS = { timeoutMs: 50, failMode: 'closed', maxStalenessMs: 1000 } as const

interface Teardown { teardown: (fn: () => unknown) => void }
/** A store on the shared state: the memory store itself, or a new Redis connection. */
type OpenStore = (t: Teardown, clock: ManualClock) => Promise<RevocationStore>

async function replica (t: Test, store: RevocationStore, clock: ManualClock): Promise<Replica> {
  const { replica, checker } = replicaOn(t, store, { ...OPTIONS, now: clock.now })
  t.ok(await replica.whenLoaded(5000), 'state loaded')
  return { replica, checker }
}

async function serviceTokenScenario (t: Test, open: OpenStore, redis: RedisServer | null): Promise<void> {
  const clock = manualClock()
  const store = await open(t, clock)
  const writer = await replica(t, store, clock)
  const revoker = new Revoker(store, writer.replica, config, { now: clock.now })
  const token: LookupQuery = { iss: '', jti: 'svc-jti', sid: 'svc-jti', sub: 'svc-1', iat: nowSeconds(clock.now) }
  const start = clock.now()
  clock.advance(DAY_MS)
  await revoker.user('', 'svc-1', 'admin_user_revoked')
  for (const day of [8, 89]) {
    clock.advance(start + day * DAY_MS - clock.now())
    // A jump of days makes the Redis replica stale until its follower's next read.
    await until(() => writer.replica.current, 3000)
    t.equal(await writer.checker.check(token), 'user', `day ${day}: the replica that revoked`)
    const later = await replica(t, await open(t, clock), clock)
    await until(() => later.replica.current, 3000)
    t.equal(await later.checker.check(token), 'user', `day ${day}: a replica that loads the state now`)
    t.equal(await store.lookup(token), 'user', `day ${day}: a store lookup`)
  }
  if (redis !== null) {
    const ttl = await redis.client.ttl(new RedisKeys('revoked:').mark('user', '', 'svc-1'))
    t.ok(ttl > 89 * 86_400, `Redis keeps the mark ${ttl}s (Redis' own clock cannot be moved)`)
    t.ok(await redis.client.ttl('revoked:log') > 89 * 86_400, 'and the log that replicas follow')
  } else {
    clock.advance(start + DAY_MS + markLifetimeS(config.jwt) * 1000 - clock.now())
    t.equal(await writer.checker.check(token), 'ok', 'the mark expires by itself once no token it covers can be alive')
  }
}

t.test('memory: with JWT_MAX_TOKEN_LIFETIME=90d a user-wide revocation denies a 90-day token on day 8 and day 89', async (t) => {
  let memory: MemoryStore | null = null
  await serviceTokenScenario(t, async (t, clock) => {
    if (memory === null) {
      const store = new MemoryStore({ now: clock.now })
      t.teardown(() => store.close())
      memory = store
    }
    return memory
  }, null)
})

t.test('redis: with JWT_MAX_TOKEN_LIFETIME=90d a user-wide revocation denies a 90-day token on day 8 and day 89', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  await serviceTokenScenario(t, async (t, clock) => {
    const store = new RedisStore({ topology: { mode: 'standalone', url: redis.url }, password: null, keyPrefix: 'revoked:', minReplicasAck: 0 },
      silent, { now: clock.now, logRetentionS: markLifetimeS(config.jwt) })
    t.teardown(() => store.close())
    await store.connect(5000)
    return store
  }, redis)
})
