import t from 'tap'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { sharedRedis } from '../helpers/redis.js'
import { nowS, sign } from '../helpers/tokens.js'
import { until } from '../helpers/until.js'

const admin = (): string => sign({ claims: { sub: 'ops-1', roles: ['admin'] } })

async function verifyStatus (gw: Gateway, token: string): Promise<number> {
  return (await call(`${gw.url}/auth/verify`, { token })).status
}

const redis = await sharedRedis(t)

async function redisGateway (t: { teardown: (fn: () => unknown) => void }, env: Record<string, string> = {}): Promise<Gateway> {
  return await startGateway(t, { ...redis.env(), ...env })
}

t.test('admin routes refuse tokens without ADMIN_ROLE (403) and anonymous callers (401)', async (t) => {
  const gw = await startGateway(t)
  const user = sign({ claims: { roles: ['user'] } })
  for (const path of ['/admin/users/u1/revoke', '/admin/revoke-all', '/admin/tokens/revoke']) {
    const forbidden = await call(`${gw.url}${path}`, { method: 'POST', token: user, json: { reason: 'x' } })
    t.equal(forbidden.status, 403, path)
    t.equal(forbidden.body.error, 'insufficient_scope')
    t.equal((await call(`${gw.url}${path}`, { method: 'POST', json: { reason: 'x' } })).status, 401, path)
  }
})

t.test('ADMIN_ROLE is honoured in the roles and role claims, never in scope', async (t) => {
  const gw = await startGateway(t, { ADMIN_ROLE: 'secops' })
  for (const claims of [{ roles: ['secops'] }, { role: 'secops' }, { roles: 'user,secops' }]) {
    const res = await call(`${gw.url}/admin/users/u9/revoke`, { method: 'POST', token: sign({ claims }), json: { reason: 'drill' } })
    t.equal(res.status, 200, JSON.stringify(claims))
  }
  t.equal((await call(`${gw.url}/admin/users/u9/revoke`, { method: 'POST', token: sign({ claims: { scope: 'read secops' } }), json: { reason: 'drill' } })).status, 403, 'a scope is not a role (RFC 6749 3.3)')
  t.equal((await call(`${gw.url}/admin/users/u9/revoke`, { method: 'POST', token: admin(), json: { reason: 'drill' } })).status, 403, 'plain "admin" is not the role any more')
})

t.test('every admin revocation requires a reason (400 without, nothing revoked)', async (t) => {
  const gw = await startGateway(t)
  const victim = sign({ claims: { sub: 'u2' } })
  for (const body of [undefined, {}, { reason: '' }, { reason: '   ' }]) {
    const res = await call(`${gw.url}/admin/users/u2/revoke`, { method: 'POST', token: admin(), ...(body !== undefined && { json: body }) })
    t.equal(res.status, 400, JSON.stringify(body))
    t.equal(res.body.error, 'invalid_request')
  }
  t.equal(await verifyStatus(gw, victim), 200)
})

t.test('user-wide revocation kills tokens issued before it and spares later ones', async (t) => {
  const gw = await redisGateway(t)
  const before = sign({ claims: { sub: 'u3', iat: nowS() - 60 } })
  const sameSecond = sign({ claims: { sub: 'u3' } })
  const otherUser = sign({ claims: { sub: 'u4', iat: nowS() - 60 } })
  const res = await call(`${gw.url}/admin/users/u3/revoke`, { method: 'POST', token: admin(), json: { reason: 'account compromised' } })
  t.equal(res.status, 200)
  t.equal(res.body.user_id, 'u3')
  t.equal(await verifyStatus(gw, before), 401)
  t.equal(await verifyStatus(gw, sameSecond), 401, 'same-second tokens count as revoked')
  t.equal(await verifyStatus(gw, otherUser), 200)
  t.ok(Math.abs(res.body.revoked_before - (nowS() + gw.config.jwt.clockToleranceS)) <= 1, 'revoked before: now plus the clock tolerance (issue 16)')
  // A token issued after revoked_before is not covered; it verifies once the clock is within the tolerance of its iat.
  t.ok(await until(() => nowS() + gw.config.jwt.clockToleranceS > res.body.revoked_before, 2000))
  const later = sign({ claims: { sub: 'u3', iat: res.body.revoked_before + 1 } })
  t.equal(await verifyStatus(gw, later), 200, 'a login after the revocation works')
  t.ok(gw.logs.some((line) => line.includes('admin_user_revoked') && line.includes('account compromised')), 'reason is audited')
})

t.test('revoke-all kills every token issued up to now, including the admin\'s own', async (t) => {
  const gw = await redisGateway(t)
  const a = sign({ claims: { sub: 'x', iat: nowS() - 5 } })
  const b = sign({ claims: { sub: 'y', iat: nowS() - 5 } })
  const adminToken = admin()
  const res = await call(`${gw.url}/admin/revoke-all`, { method: 'POST', token: adminToken, json: { reason: 'key leak' } })
  t.equal(res.status, 200)
  t.equal(await verifyStatus(gw, a), 401)
  t.equal(await verifyStatus(gw, b), 401)
  t.equal(await verifyStatus(gw, adminToken), 401)
  t.ok(await until(() => nowS() + gw.config.jwt.clockToleranceS > res.body.revoked_before, 2000))
  t.equal(await verifyStatus(gw, sign({ claims: { iat: res.body.revoked_before + 1 } })), 200)
})

t.test('revoke by token and by jti', async (t) => {
  const gw = await redisGateway(t)
  const byToken = sign()
  const jti = 'known-jti-123456789'
  const byJti = sign({ claims: { jti } })
  let res = await call(`${gw.url}/admin/tokens/revoke`, { method: 'POST', token: admin(), json: { reason: 'fraud', token: byToken } })
  t.equal(res.status, 200)
  t.notMatch(res.text, byToken)
  t.equal(await verifyStatus(gw, byToken), 401)
  res = await call(`${gw.url}/admin/tokens/revoke`, { method: 'POST', token: admin(), json: { reason: 'fraud', jti, exp: nowS() + 900 } })
  t.equal(res.status, 200)
  t.equal(res.body.jti, 'known-jt', 'jti is cut to 8 characters')
  t.equal(await verifyStatus(gw, byJti), 401)
  res = await call(`${gw.url}/admin/tokens/revoke`, { method: 'POST', token: admin(), json: { reason: 'fraud' } })
  t.equal(res.status, 400, 'neither token nor jti')
  res = await call(`${gw.url}/admin/tokens/revoke`, { method: 'POST', token: admin(), json: { reason: 'fraud', token: 'not-a-jwt' } })
  t.equal(res.status, 400)
})

t.test('every mark written through the API carries a TTL matched to what it can cover', async (t) => {
  const env = redis.env()
  // Issue 16: session, user and global marks and the log live JWT_MAX_TOKEN_LIFETIME plus twice the tolerance.
  const gw = await startGateway(t, { ...env, REFRESH_TOKEN_EXPIRE_DAYS: '1', JWT_MAX_TOKEN_LIFETIME: '2d' })
  const token = sign({ claims: { sid: 'ttl-session', exp: nowS() + 120 } })
  await call(`${gw.url}/auth/logout`, { method: 'POST', token })
  await call(`${gw.url}/admin/users/someone/revoke`, { method: 'POST', token: admin(), json: { reason: 'ttl' } })
  await call(`${gw.url}/admin/revoke-all`, { method: 'POST', token: admin(), json: { reason: 'ttl' } })
  const keys = (await redis.client.keys(`${env.REDIS_KEY_PREFIX}*`)).filter((key) => !key.includes('ratelimit') && !key.includes(':monitor:'))
  t.ok(keys.length >= 4, `marks written: ${keys.join(', ')}`)
  for (const key of keys) {
    const ttl = await redis.client.ttl(key)
    t.ok(ttl > 0, `${key} expires (ttl ${ttl})`)
    const bucket = /:idx:(\d+)$/.exec(key)
    // A load-index bucket (one per hour of expiry, see load-index.ts) is kept an hour past its own hour.
    if (bucket !== null) t.ok(Math.abs(ttl - ((Number(bucket[1]) + 2) * 3600 - nowS())) <= 2, `${key} lives until an hour after its hour (${ttl})`)
    else if (/:jti[:@]/.test(key)) t.ok(ttl <= 120 + 5 + 1 && ttl > 100, `jti mark lives until exp + tolerance (${ttl})`)
    else t.ok(ttl <= 2 * 86400 + 10 && ttl > 2 * 86400, `${key} lives the maximum token lifetime plus twice the tolerance (${ttl})`)
  }
  // Every key on the server, this test's and the earlier ones' alike.
  const all = await redis.client.keys('*')
  for (const key of all) t.not(await redis.client.ttl(key), -1, `${key} has an expiry`)
})
