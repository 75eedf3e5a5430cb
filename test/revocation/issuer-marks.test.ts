import t from 'tap'
import fc from 'fast-check'
import { ANY_ISSUER } from '../../src/revocation/issuer-scope.js'
import { MARK_KINDS, type MarkKind } from '../../src/revocation/mark-kind.js'
import { MemoryStore } from '../../src/revocation/memory-store.js'
import { RedisKeys } from '../../src/revocation/redis/redis-keys.js'
import { RevocationState } from '../../src/revocation/revocation-state.js'
import type { LookupQuery, RevocationEvent } from '../../src/revocation/store.js'

const NOW = 1_800_000_000
const IAT = NOW - 10

function eventOf (kind: MarkKind, issuer: string, id: string): RevocationEvent {
  if (kind === 'jti' || kind === 'session') return { kind, id, issuer, expiresAt: NOW + 60 }
  return kind === 'user' ? { kind, id, issuer, before: NOW, expiresAt: NOW + 60 } : { kind, issuer, before: NOW, expiresAt: NOW + 60 }
}

/** A token that every kind of mark for `id` would cover: the id is its jti, sid and sub at once. */
function tokenOf (iss: string, id: string): LookupQuery {
  return { iss, jti: id, sid: id, sub: id, iat: IAT }
}

const issuer = fc.oneof(fc.constant(''), fc.webUrl(), fc.string({ maxLength: 40 })).filter((iss) => iss !== ANY_ISSUER)
const id = fc.string({ minLength: 1, maxLength: 40 })
const kind = fc.constantFrom(...MARK_KINDS)

t.test('for any two distinct issuers and any id, a mark of one never covers a token of the other (replica state, memory store)', async () => {
  await fc.assert(fc.asyncProperty(issuer, issuer, id, kind, async (a, b, named, k) => {
    fc.pre(a !== b)
    const state = new RevocationState()
    state.apply(eventOf(k, a, named), NOW)
    const store = new MemoryStore({ now: () => NOW * 1000 })
    await store.write(eventOf(k, a, named))
    await store.close()
    return state.covering(tokenOf(a, named), NOW) === k &&
      state.covering(tokenOf(b, named), NOW) === null &&
      await store.lookup(tokenOf(a, named)) === k &&
      await store.lookup(tokenOf(b, named)) === null
  }), { numRuns: 500 })
})

t.test('for any issuer and id, a mark of every issuer covers it', async () => {
  await fc.assert(fc.asyncProperty(issuer, id, kind, async (iss, named, k) => {
    const state = new RevocationState()
    state.apply(eventOf(k, ANY_ISSUER, named), NOW)
    const store = new MemoryStore({ now: () => NOW * 1000 })
    await store.write(eventOf(k, ANY_ISSUER, named))
    await store.close()
    return state.covering(tokenOf(iss, named), NOW) === k && await store.lookup(tokenOf(iss, named)) === k
  }), { numRuns: 300 })
})

t.test('Redis keys: distinct issuers, distinct keys of bounded length; every issuer keeps the key of marks written before issuers', async (t) => {
  const keys = new RedisKeys('tg:')
  fc.assert(fc.property(issuer, issuer, id, kind, (a, b, named, k) => {
    fc.pre(a !== b)
    const ka = keys.mark(k, a, named)
    return ka !== keys.mark(k, b, named) && ka !== keys.mark(k, ANY_ISSUER, named) &&
      ka.length <= 'tg:'.length + 3 + 14 + named.length && !/[{}]/.test(ka.slice(0, ka.length - (k === 'global' ? 0 : named.length)))
  }), { numRuns: 1000 })
  t.same(['jti', 'session', 'user', 'global'].map((k) => keys.mark(k as MarkKind, ANY_ISSUER, 'x')), ['tg:jti:x', 'tg:sid:x', 'tg:sub:x', 'tg:all'],
    'a mark of every issuer has the key layout of version 2')
  t.equal(keys.mark('user', 'https://a.example', '{alice}'), `tg:sub@${keys.mark('global', 'https://a.example', '').slice('tg:all@'.length)}:{alice}`,
    'an id\'s hash tag stays the only one after the prefix')
})
