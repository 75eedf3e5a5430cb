import { ANY_ISSUER } from '../../src/revocation/issuer-scope.js'
import type { Clock, LookupQuery, RevocationEvent, RevocationStore } from '../../src/revocation/store.js'
import { nowSeconds } from '../../src/revocation/store.js'
import { setTimeout as sleep } from 'node:timers/promises'
import { until } from '../helpers/until.js'
import { marks } from './marks.js'

interface TapLike {
  test: (name: string, fn: (t: any) => Promise<void>) => unknown
}

/** A store and how time passes for it: a clock advance where the store keeps time, real time where Redis does. */
export interface StoreUnderTest {
  readonly store: RevocationStore
  pass: (ms: number) => Promise<void>
  /** The store's clock, when it keeps its own time (the memory store); real time otherwise. */
  readonly clock?: Clock
}

/** Redis' TTLs run on Redis' clock: only real time moves them. */
export const realTime = async (ms: number): Promise<void> => { await sleep(ms) }

/**
 * One contract, every store: what a lookup finds after each kind of write.
 * Like undici's cache-store-test-utils, each implementation runs it as is.
 */
export function storeContract (t: TapLike, name: string, makeStore: (t: any) => Promise<StoreUnderTest>): void {
  const query = (over: Partial<LookupQuery> = {}): LookupQuery =>
    ({ iss: '', jti: 'jti-1', sid: 'sid-1', sub: 'sub-1', iat: nowSeconds() - 10, ...over })

  t.test(`${name}: nothing is revoked at first`, async (t) => {
    const { store } = await makeStore(t)
    t.equal(await store.lookup(query()), null)
  })

  t.test(`${name}: a revoked jti is found, once`, async (t) => {
    const { store, clock } = await makeStore(t)
    t.equal(await marks(store, clock).token('jti-1', 60), true)
    t.equal(await marks(store, clock).token('jti-1', 60), false, 'second revocation reports it was already revoked')
    t.equal(await store.lookup(query()), 'jti')
    t.equal(await store.lookup(query({ jti: 'jti-2' })), null)
  })

  t.test(`${name}: a revoked session covers every token in it`, async (t) => {
    const { store, clock } = await makeStore(t)
    await marks(store, clock).session('sid-1', 60)
    t.equal(await store.lookup(query({ jti: 'any' })), 'session')
    t.equal(await store.lookup(query({ sid: 'sid-2' })), null)
  })

  t.test(`${name}: a user mark covers tokens issued at or before it, not after`, async (t) => {
    const { store, clock } = await makeStore(t)
    const before = nowSeconds()
    await marks(store, clock).user('sub-1', before, 60)
    t.equal(await store.lookup(query({ iat: before - 1 })), 'user')
    t.equal(await store.lookup(query({ iat: before })), 'user', 'same second counts as revoked')
    t.equal(await store.lookup(query({ iat: before + 1 })), null)
    t.equal(await store.lookup(query({ sub: 'sub-2', iat: before - 1 })), null)
  })

  t.test(`${name}: a user mark keeps the later time`, async (t) => {
    const { store, clock } = await makeStore(t)
    const now = nowSeconds()
    await marks(store, clock).user('sub-1', now, 60)
    await marks(store, clock).user('sub-1', now - 100, 60)
    t.equal(await store.lookup(query({ iat: now })), 'user', 'an older revocation does not move the mark back')
  })

  t.test(`${name}: a global mark covers everyone issued at or before it`, async (t) => {
    const { store, clock } = await makeStore(t)
    const before = nowSeconds()
    await marks(store, clock).everyone(before, 60)
    t.equal(await store.lookup(query({ sub: 'anyone', iat: before })), 'global')
    t.equal(await store.lookup(query({ sub: 'anyone', iat: before + 1 })), null)
  })

  t.test(`${name}: marks expire by themselves`, async (t) => {
    const { store, pass, clock } = await makeStore(t)
    await marks(store, clock).token('short', 1)
    t.equal(await store.lookup(query({ jti: 'short' })), 'jti')
    await pass(1100)
    t.equal(await store.lookup(query({ jti: 'short' })), null)
  })

  t.test(`${name}: user and global marks keep the later time and the longer lifetime`, async (t) => {
    const { store, pass, clock } = await makeStore(t)
    const now = nowSeconds()
    await marks(store, clock).user('older-short', now, 60)
    await marks(store, clock).user('older-short', now - 100, 1)
    await marks(store, clock).user('later-short', now - 100, 60)
    await marks(store, clock).user('later-short', now, 1)
    await marks(store, clock).everyone(now - 100, 60)
    await marks(store, clock).everyone(now, 1)
    await pass(1100)
    t.equal(await store.lookup(query({ sub: 'older-short', iat: now })), 'user', 'an older, shorter mark changed nothing')
    t.equal(await store.lookup(query({ sub: 'later-short', iat: now })), 'user', 'a later, shorter mark moved the time but kept the lifetime')
    t.equal(await store.lookup(query({ sub: 'nobody-else', iat: now })), 'global', 'the same holds for the global mark')
    t.equal(await store.lookup(query({ sub: 'nobody-else', iat: now + 1 })), null)
  })

  t.test(`${name}: a follower receives the marks written before it, then every revocation, and learns it is current`, async (t) => {
    const { store, clock } = await makeStore(t)
    await marks(store, clock).token('early-jti', 60)
    await marks(store, clock).user('early-sub', 100, 60)
    const events: RevocationEvent[] = []
    const follower = { current: false }
    store.follow({ onEvent: (event) => events.push(event), onCurrent: () => { follower.current = true } })
    t.ok(await until(() => follower.current, 3000), 'the follower reports it is current')
    t.match(events.find((e) => e.kind === 'jti'), { kind: 'jti', id: 'early-jti' }, 'a mark written before following is loaded')
    t.match(events.find((e) => e.kind === 'user'), { kind: 'user', id: 'early-sub', before: 100 })
    await marks(store, clock).token('e-jti', 60)
    await marks(store, clock).session('e-sid', 60)
    await marks(store, clock).user('e-sub', 100, 60)
    await marks(store, clock).everyone(100, 60)
    const later = (): RevocationEvent[] => events.filter((e) => e.kind === 'global' || e.id.startsWith('e-'))
    await until(() => later().length >= 4, 3000)
    t.same(later().map((e) => e.kind), ['jti', 'session', 'user', 'global'], 'in the order they were written (one log)')
    t.match(later()[2], { kind: 'user', id: 'e-sub', before: 100 })
  })

  t.test(`${name}: stats count marks by kind`, async (t) => {
    const { store, clock } = await makeStore(t)
    await marks(store, clock).token('s1', 60)
    await marks(store, clock).token('s2', 60)
    await marks(store, clock).session('s', 60)
    await marks(store, clock).user('u', 1, 60)
    t.same((await store.stats()).marks, { jti: 2, session: 1, user: 1, global: 0 })
    await marks(store, clock).everyone(1, 60)
    await marks(store, clock).everyone(2, 60)
    t.same((await store.stats()).marks, { jti: 2, session: 1, user: 1, global: 1 })
  })

  t.test(`${name}: marks are kept per issuer; a mark of every issuer covers them all`, async (t) => {
    const { store, clock } = await makeStore(t)
    const [a, b] = ['https://a.example', 'https://b.example']
    const now = nowSeconds(clock)
    await marks(store, clock, a).token('jti-1', 60)
    await marks(store, clock, a).session('sid-2', 60)
    await marks(store, clock, a).user('sub-3', now, 60)
    t.equal(await store.lookup(query({ iss: a })), 'jti', 'the issuer\'s own jti')
    t.equal(await store.lookup(query({ iss: b })), null, 'the same jti of another issuer is another token')
    t.equal(await store.lookup(query({ iss: '', jti: 'x' })), null, 'nor is it a token without iss')
    t.equal(await store.lookup(query({ iss: a, jti: 'x', sid: 'sid-2' })), 'session')
    t.equal(await store.lookup(query({ iss: b, jti: 'x', sid: 'sid-2' })), null, 'a session id likewise')
    t.equal(await store.lookup(query({ iss: a, jti: 'x', sub: 'sub-3' })), 'user')
    t.equal(await store.lookup(query({ iss: b, jti: 'x', sub: 'sub-3' })), null, 'alice of one issuer is not alice of another')
    t.equal(await marks(store, clock, b).token('jti-1', 60), true, 'the other issuer\'s jti is revoked on its own, not "already revoked"')
    await marks(store, clock, a).everyone(now, 60)
    t.equal(await store.lookup(query({ iss: a, jti: 'y' })), 'global', 'revoke-all of one issuer')
    t.equal(await store.lookup(query({ iss: b, jti: 'y' })), null, 'leaves the other alone')
    await marks(store, clock, ANY_ISSUER).user('sub-4', now, 60)
    await marks(store, clock, ANY_ISSUER).everyone(now, 60)
    for (const iss of [a, b, '']) {
      t.equal(await store.lookup(query({ iss, jti: 'z', sub: 'sub-4' })), 'user', `a user mark of every issuer covers ${iss === '' ? 'no iss' : iss}`)
      t.equal(await store.lookup(query({ iss, jti: 'z' })), 'global', 'so does a global one')
    }
  })
}
