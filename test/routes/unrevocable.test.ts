import fc from 'fast-check'
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { startRedis } from '../helpers/redis.js'
import { nowS, sign, signRaw } from '../helpers/tokens.js'

// Issue 16 §2: an exp at or past 2^32 (year 2106) did not fit the 32-bit expiries of the load
// index and the mark table: every revocation route answered 503 and the token kept passing.
// Now no such token verifies, and a mark never outlives the longest accepted token.
const NO_LIMITS = {
  RATE_LIMIT_LOGOUT_PER_MIN: '0',
  RATE_LIMIT_REVOKE_PER_MIN: '0',
  RATE_LIMIT_ADMIN_PER_MIN: '0',
  RATE_LIMIT_UNAUTHENTICATED_PER_MIN: '0',
  LOG_LEVEL: 'warn'
}
const admin = (): string => sign({ claims: { sub: 'ops', roles: ['admin'] } })

t.test('property: no token and no exp makes a revocation route answer 503; an accepted token is revoked', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const gw = await startGateway(t, { REDIS_URL: redis.url, ...NO_LIMITS })
  const max = gw.config.jwt.maxTokenLifetimeS
  const exp = fc.oneof(fc.integer({ min: 2 ** 32 - 2, max: 2 ** 32 + 2 }), { arbitrary: fc.integer({ min: nowS(), max: nowS() + max }), weight: 3 }, fc.integer({ min: 0, max: 2 ** 40 }))
  const iatOffset = fc.oneof({ arbitrary: fc.integer({ min: -max, max: 5 }), weight: 3 }, fc.integer({ min: -(2 ** 33), max: 2 ** 33 }))
  let revoked = 0
  await fc.assert(fc.asyncProperty(exp, iatOffset, async (exp, iatOffset) => {
    const token = signRaw({ sub: 'u', jti: randomUUID(), iat: nowS() + iatOffset, exp })
    const verified = (await call(`${gw.url}/auth/verify`, { token })).status
    const logout = (await call(`${gw.url}/auth/logout`, { method: 'POST', token })).status
    if (logout !== verified) throw new Error(`verify ${verified}, logout ${logout} (exp ${exp})`)
    if (logout === 200) {
      revoked++
      if ((await call(`${gw.url}/auth/verify`, { token })).status !== 401) throw new Error(`exp ${exp}: still passes after logout`)
    }
    const byAdmin = await call(`${gw.url}/admin/tokens/revoke`, { method: 'POST', token: admin(), json: { reason: 'incident', jti: randomUUID(), exp } })
    if (byAdmin.status !== 200) throw new Error(`admin revocation of a jti with exp ${exp}: ${byAdmin.status}`)
  }), { numRuns: 100 })
  t.ok(revoked > 15, `${revoked} accepted tokens revoked, no route answered 503`)
})
