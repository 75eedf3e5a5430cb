import t, { type Test } from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { replicaOn, type Replica } from './fixtures.js'
import { markLifetimeS } from '../../src/revocation/mark-lifetime.js'
import { MemoryStore } from '../../src/revocation/memory-store.js'
import { RedisStore } from '../../src/revocation/redis/redis-store.js'
import { Revoker } from '../../src/revocation/revoker.js'
import type { LookupQuery, RevocationStore } from '../../src/revocation/store.js'
import { nowSeconds } from '../../src/revocation/store.js'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { manualClock, type ManualClock } from '../helpers/clock.js'
import { startRedis } from '../helpers/redis.js'
import { nowS, sign, SECRET } from '../helpers/tokens.js'
import { until } from '../helpers/until.js'
import { silent } from './fixtures.js'

// Issue 16 §2: tokens whose iat is up to JWT_CLOCK_TOLERANCE_S ahead are accepted, but user-wide
// and global marks covered only iat <= now: an issuer whose clock ran a few seconds fast escaped
// "revoke every token of this user". The mark's "revoked before" now includes the tolerance, in
// both stores, in every replica's state and in a Redis lookup alike.
const config = loadConfig({ JWT_SECRET: SECRET })
const TOL = config.jwt.clockToleranceS
const OPTIONS = { timeoutMs: 50, failMode: 'closed', maxStalenessMs: 1000 } as const

type OpenStore = (t: Test, clock: ManualClock) => Promise<RevocationStore>

async function replica (t: Test, store: RevocationStore, clock: ManualClock): Promise<Replica> {
  const { replica, checker } = replicaOn(t, store, { ...OPTIONS, now: clock.now })
  t.ok(await replica.whenLoaded(5000), 'state loaded')
  await until(() => replica.current, 3000)
  return { replica, checker }
}

/** Every place a decision is made: the replica that wrote, one that loads the state later, a store lookup. */
async function everywhere (t: Test, open: OpenStore, store: RevocationStore, writer: Replica, clock: ManualClock, token: LookupQuery): Promise<string[]> {
  const later = await replica(t, await open(t, clock), clock)
  return [await writer.checker.check(token), await later.checker.check(token), String(await store.lookup(token))]
}

function skewTests (name: string, open: OpenStore): void {
  t.test(`${name}: a token with iat = now + tolerance, issued just before a user-wide or global revocation, is denied`, async (t) => {
    const clock = manualClock()
    const store = await open(t, clock)
    const writer = await replica(t, store, clock)
    const revoker = new Revoker(store, writer.replica, config, { now: clock.now })
    const now = nowSeconds(clock.now)
    const ahead: LookupQuery = { iss: '', jti: 'ahead', sid: 'ahead', sub: 'sub-1', iat: now + TOL }
    await revoker.user('', 'sub-1', 'admin_user_revoked')
    t.same(await everywhere(t, open, store, writer, clock, ahead), ['user', 'user', 'user'], 'user-wide: the writer, a later replica, a lookup')
    const other: LookupQuery = { iss: '', jti: 'other', sid: 'other', sub: 'sub-2', iat: now + TOL }
    await revoker.everyone('', 'admin_revoke_all')
    t.same(await everywhere(t, open, store, writer, clock, other), ['global', 'global', 'global'], 'global: the same')
  })

  t.test(`${name}: a fresh login within the tolerance after a user-wide revocation is refused; once the tolerance has passed, one is accepted`, async (t) => {
    const clock = manualClock()
    const store = await open(t, clock)
    const writer = await replica(t, store, clock)
    const revoker = new Revoker(store, writer.replica, config, { now: clock.now })
    await revoker.user('', 'sub-1', 'admin_user_revoked')
    clock.advance(1000)
    const early: LookupQuery = { iss: '', jti: 'early', sid: 'early', sub: 'sub-1', iat: nowSeconds(clock.now) }
    t.same(await everywhere(t, open, store, writer, clock, early), ['user', 'user', 'user'], 'a login one second after the revocation is refused (the documented window)')
    clock.advance(TOL * 1000)
    const fresh: LookupQuery = { iss: '', jti: 'fresh', sid: 'fresh', sub: 'sub-1', iat: nowSeconds(clock.now) }
    t.same(await everywhere(t, open, store, writer, clock, fresh), ['ok', 'ok', 'null'], 'a login past the tolerance passes')
  })
}

skewTests('memory', (() => {
  let memory: MemoryStore | null = null
  return async (t: Test, clock: ManualClock) => {
    if (memory === null) {
      const store = new MemoryStore({ now: clock.now })
      memory = store
      t.teardown(() => { memory = null; return store.close() })
    }
    return memory
  }
})())

skewTests('redis', (() => {
  let url: string | null = null
  return async (t: Test, clock: ManualClock) => {
    if (url === null) {
      const redis = await startRedis()
      url = redis.url
      t.teardown(() => { url = null; return redis.stop() })
    }
    const store = new RedisStore({ topology: { mode: 'standalone', url }, password: null, keyPrefix: 'revoked:', minReplicasAck: 0 },
      silent, { now: clock.now, logRetentionS: markLifetimeS(config.jwt) })
    t.teardown(() => store.close())
    await store.connect(5000)
    return store
  }
})())

t.test('a refresh token from an issuer whose clock runs the tolerance ahead is covered by a user-wide revocation; rotation mints nothing from it', async (t) => {
  const gw = await startGateway(t)
  const admin = sign({ claims: { sub: 'ops', roles: ['admin'] } })
  const ahead = sign({ claims: { sub: 'skewed', sid: 'skewed-session', token_type: 'refresh', iat: nowS() + TOL } })
  const access = sign({ claims: { sub: 'skewed', iat: nowS() + TOL } })
  const revoked = await call(`${gw.url}/admin/users/skewed/revoke`, { method: 'POST', token: admin, json: { reason: 'stolen laptop' } })
  t.equal(revoked.status, 200)
  t.ok(revoked.body.revoked_before >= nowS() + TOL - 1, `revoked_before includes the tolerance (${revoked.body.revoked_before})`)
  t.equal((await call(`${gw.url}/auth/verify`, { token: access })).status, 401, 'the access token is denied')
  const refresh = await call(`${gw.url}/auth/refresh`, { method: 'POST', json: { refresh_token: ahead } })
  t.equal(refresh.status, 401, 'the refresh token is denied')
  t.equal(refresh.body.access_token, undefined, 'and nothing was minted from it')
})
