import t from 'tap'
import type { Claims } from '../../src/tokens/claims.js'
import { VerifiedTokenCache } from '../../src/tokens/verified-cache.js'

const now = Math.floor(Date.now() / 1000)
const claims = (jti: string, exp = now + 600): Claims => ({ sub: 'user-1', jti, iat: now, exp })

t.test('a token is cached from its second verification, not its first', async (t) => {
  const cache = new VerifiedTokenCache(10, 5)
  cache.set('token-a', claims('a'))
  t.equal(cache.get('token-a'), undefined, 'used once: not cached')
  t.equal(cache.size, 0)
  cache.set('token-a', claims('a'))
  t.match(cache.get('token-a'), { jti: 'a' }, 'used twice: served from the cache')
})

t.test('a stream of tokens used once leaves the cache empty', async (t) => {
  const cache = new VerifiedTokenCache(10, 5)
  for (let i = 0; i < 1000; i++) cache.set(`token-${i}`, claims(`jti-${i}`))
  t.equal(cache.size, 0)
})

t.test('only the exact token hits its entry, even with the same jti', async (t) => {
  const cache = new VerifiedTokenCache(10, 5)
  cache.set('token-a', claims('same'))
  cache.set('token-a', claims('same'))
  t.equal(cache.get('token-b'), undefined)
  t.equal(cache.get('token-a '), undefined)
  cache.set('token-b', claims('same', now + 60))
  t.equal(cache.get('token-b')?.exp, now + 60, 'a second token with that jti gets its own entry')
  t.equal(cache.get('token-a')?.exp, now + 600)
})

t.test('never more entries than its size; an expired token is not served', async (t) => {
  const cache = new VerifiedTokenCache(3, 0)
  for (let i = 0; i < 10; i++) {
    cache.set(`token-${i}`, claims(`jti-${i}`))
    cache.set(`token-${i}`, claims(`jti-${i}`))
  }
  t.equal(cache.size, 3)
  cache.set('old', claims('old', now - 1))
  cache.set('old', claims('old', now - 1))
  t.equal(cache.get('old'), undefined)
})
