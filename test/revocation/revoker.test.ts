import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import type { RevocationChecker } from '../../src/revocation/checker.js'
import { replicaOn } from './fixtures.js'
import { MemoryStore } from '../../src/revocation/memory-store.js'
import { Revoker } from '../../src/revocation/revoker.js'
import type { LookupQuery } from '../../src/revocation/store.js'
import { nowSeconds } from '../../src/revocation/store.js'
import { manualClock, type ManualClock } from '../helpers/clock.js'
import { SECRET } from '../helpers/tokens.js'

// Every mark must outlive the tokens it could match (a mark gone early un-revokes a token) and
// then expire by itself (design: "every mark expires by itself"). One clock drives store, checker
// and revoker, so lifetimes of minutes or days are checked without waiting for them.
const config = loadConfig({ JWT_SECRET: SECRET })
const toleranceMs = config.jwt.clockToleranceS * 1000

interface Setup { clock: ManualClock, store: MemoryStore, checker: RevocationChecker, revoker: Revoker }

function setup (t: { teardown: (fn: () => unknown) => void }): Setup {
  const clock = manualClock()
  const store = new MemoryStore({ now: clock.now })
  t.teardown(() => store.close())
  const { replica, checker } = replicaOn(t, store, { timeoutMs: 50, failMode: 'closed', maxStalenessMs: 1000, now: clock.now })
  return { clock, store, checker, revoker: new Revoker(store, replica, config, { now: clock.now }) }
}

const token = (over: Partial<LookupQuery>): LookupQuery => ({ iss: '', jti: 'jti-1', sid: 'sid-1', sub: 'sub-1', iat: 0, ...over })

t.test('a revoked token stays revoked until its exp plus the clock tolerance, on this replica and in the store', async (t) => {
  const { clock, store, checker, revoker } = setup(t)
  const revoked = token({ iat: nowSeconds(clock.now) - 60 })
  t.equal(await revoker.token('', revoked.jti, nowSeconds(clock.now) + 300, 'token_revoked'), true)
  t.equal(await revoker.token('', revoked.jti, nowSeconds(clock.now) + 300, 'token_revoked'), false, 'a second revocation says it already was')
  clock.advance(300_000 + toleranceMs - 1000)
  t.equal(await checker.check(revoked), 'jti', 'still denied while a tolerant verifier would accept the token')
  t.equal(await store.lookup(revoked), 'jti')
  clock.advance(1000)
  t.equal(await checker.check(revoked), 'ok', 'then the mark expires by itself')
  t.equal(await store.lookup(revoked), null)
})

for (const [kind, revoke] of [
  ['session', async (r: Revoker) => { await r.session('', 'sid-1', 'logout') }],
  ['user', async (r: Revoker) => { await r.user('', 'sub-1', 'admin_user_revoked') }],
  ['global', async (r: Revoker) => { await r.everyone('', 'admin_revoke_all') }]
] as const) {
  t.test(`a ${kind} mark lives as long as the longest token it could match (JWT_MAX_TOKEN_LIFETIME plus twice the tolerance), then expires`, async (t) => {
    const { clock, checker, revoker } = setup(t)
    const issued = token({ iat: nowSeconds(clock.now) })
    await revoke(revoker)
    t.equal(revoker.longestLifetimeS, config.jwt.maxTokenLifetimeS + 2 * config.jwt.clockToleranceS)
    t.equal(await checker.check(issued), kind, 'a token issued in the same second is covered')
    clock.advance(revoker.longestLifetimeS * 1000 - 1000)
    t.equal(await checker.check(issued), kind, 'one second before the end of the longest lifetime: still covered')
    clock.advance(1000)
    t.equal(await checker.check(issued), 'ok', 'no token it could match is alive: the mark is gone')
  })
}

t.test('a user or global mark covers tokens issued up to the revocation plus the clock tolerance, not later ones', async (t) => {
  const { clock, checker, revoker } = setup(t)
  const before = await revoker.user('', 'sub-1', 'admin_user_revoked')
  t.equal(before, nowSeconds(clock.now) + config.jwt.clockToleranceS)
  t.equal(await checker.check(token({ iat: before })), 'user')
  t.equal(await checker.check(token({ iat: before + 1 })), 'ok', 'a token issued after the revocation (a new login) passes')
  const all = await revoker.everyone('', 'admin_revoke_all')
  t.equal(await checker.check(token({ sub: 'other', iat: all })), 'global')
  t.equal(await checker.check(token({ sub: 'other', iat: all + 1 })), 'ok')
})
