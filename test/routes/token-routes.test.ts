import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { BASE_ENV, startGateway, type Gateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { sharedRedis, startRedis } from '../helpers/redis.js'
import { nowS, sign } from '../helpers/tokens.js'

type Setup = (t: { teardown: (fn: () => unknown) => void }) => Promise<Gateway>

const shared = await sharedRedis(t)
const stores: Record<string, Setup> = {
  memory: async (t) => await startGateway(t),
  redis: async (t) => await startGateway(t, shared.env())
}

async function verifyStatus (gw: Gateway, token: string): Promise<number> {
  return (await call(`${gw.url}/auth/verify`, { token })).status
}

for (const [storeName, setup] of Object.entries(stores)) {
  t.test(`${storeName} store`, async (t) => {
    t.test('logout revokes the presented token and every token of its session', async (t) => {
      const gw = await setup(t)
      const access = sign({ claims: { sid: 's1' } })
      const sibling = sign({ claims: { sid: 's1' } })
      const otherSession = sign({ claims: { sid: 's2' } })
      const res = await call(`${gw.url}/auth/logout`, { method: 'POST', token: access })
      t.equal(res.status, 200)
      t.equal(res.body.status, 'logged_out')
      t.equal(await verifyStatus(gw, access), 401)
      t.equal(await verifyStatus(gw, sibling), 401, 'same session')
      t.equal(await verifyStatus(gw, otherSession), 200, 'other session untouched')
    })

    t.test('logout also revokes the refresh_token in the body, even from another session', async (t) => {
      const gw = await setup(t)
      const access = sign({ claims: { sid: 'a' } })
      const refresh = sign({ claims: { sid: 'b', token_type: 'refresh' } })
      const res = await call(`${gw.url}/auth/logout`, { method: 'POST', token: access, json: { refresh_token: refresh } })
      t.equal(res.status, 200)
      t.equal(res.body.refresh_token_revoked, true)
      const refreshed = await call(`${gw.url}/auth/refresh`, { method: 'POST', json: { refresh_token: refresh } })
      t.equal(refreshed.status, 401)
    })

    t.test('logout refuses another user\'s refresh_token and revokes nothing', async (t) => {
      const gw = await setup(t)
      const access = sign({ claims: { sub: 'alice' } })
      const bobs = sign({ claims: { sub: 'bob', token_type: 'refresh' } })
      const res = await call(`${gw.url}/auth/logout`, { method: 'POST', token: access, json: { refresh_token: bobs } })
      t.equal(res.status, 403)
      t.equal(res.body.error, 'insufficient_scope')
      t.equal(await verifyStatus(gw, access), 200, 'alice is still logged in')
    })

    t.test('logout without a token is 401 and with a revoked one too', async (t) => {
      const gw = await setup(t)
      t.equal((await call(`${gw.url}/auth/logout`, { method: 'POST' })).status, 401)
      const token = sign()
      await call(`${gw.url}/auth/logout`, { method: 'POST', token })
      t.equal((await call(`${gw.url}/auth/logout`, { method: 'POST', token })).status, 401)
    })

    t.test('refresh rotates: new pair works, old refresh token is spent, custom claims are copied', async (t) => {
      const gw = await setup(t)
      const refresh = sign({ claims: { sub: 'carol', sid: 'sess', token_type: 'refresh', tenant: 'eu-1', scope: 'accounts:read' } })
      const res = await call(`${gw.url}/auth/refresh`, { method: 'POST', json: { refresh_token: refresh } })
      t.equal(res.status, 200)
      t.equal(res.body.token_type, 'Bearer')
      t.equal(res.body.expires_in, 900)
      t.equal(res.headers.get('cache-control'), 'no-store')
      const accessClaims = JSON.parse(Buffer.from(res.body.access_token.split('.')[1], 'base64url').toString())
      t.equal(accessClaims.sub, 'carol')
      t.equal(accessClaims.sid, 'sess')
      t.equal(accessClaims.tenant, 'eu-1')
      t.equal(accessClaims.token_type, undefined)
      t.equal(accessClaims.exp - accessClaims.iat, 900)
      const refreshClaims = JSON.parse(Buffer.from(res.body.refresh_token.split('.')[1], 'base64url').toString())
      t.equal(refreshClaims.token_type, 'refresh')
      // The session began with the presented token (its iat), and lives the refresh lifetime from there.
      const presented = JSON.parse(Buffer.from(refresh.split('.')[1] as string, 'base64url').toString())
      t.equal(refreshClaims.auth_time, presented.iat)
      t.equal(refreshClaims.exp, presented.iat + 7 * 86400)
      t.equal(await verifyStatus(gw, res.body.access_token), 200)
      t.equal(await verifyStatus(gw, res.body.refresh_token), 401, 'a refresh token is no access token')
    })

    t.test('refresh reuse: presenting a rotated refresh token kills the whole session', async (t) => {
      const gw = await setup(t)
      const original = sign({ claims: { sid: 'family', token_type: 'refresh' } })
      const first = await call(`${gw.url}/auth/refresh`, { method: 'POST', json: { refresh_token: original } })
      t.equal(first.status, 200)
      t.equal(await verifyStatus(gw, first.body.access_token), 200)
      const reuse = await call(`${gw.url}/auth/refresh`, { method: 'POST', json: { refresh_token: original } })
      t.equal(reuse.status, 401)
      t.equal(reuse.body.error, 'invalid_token')
      t.equal(await verifyStatus(gw, first.body.access_token), 401, 'new access token dies')
      const second = await call(`${gw.url}/auth/refresh`, { method: 'POST', json: { refresh_token: first.body.refresh_token } })
      t.equal(second.status, 401, 'new refresh token dies')
      t.ok(gw.logs.some((line) => line.includes('refresh token reuse')), 'a security event is raised')
    })

    t.test('two concurrent refreshes with one token: exactly one wins', async (t) => {
      const gw = await setup(t)
      const refresh = sign({ claims: { sid: 'race', token_type: 'refresh' } })
      const results = await Promise.all([1, 2, 3].map(async () => await call(`${gw.url}/auth/refresh`, { method: 'POST', json: { refresh_token: refresh } })))
      t.equal(results.filter((r) => r.status === 200).length, 1)
    })

    t.test('refresh accepts a form body and refuses access tokens and empty bodies', async (t) => {
      const gw = await setup(t)
      const refresh = sign({ claims: { token_type: 'refresh' } })
      t.equal((await call(`${gw.url}/auth/refresh`, { method: 'POST', form: { refresh_token: refresh } })).status, 200)
      const access = await call(`${gw.url}/auth/refresh`, { method: 'POST', json: { refresh_token: sign() } })
      t.equal(access.status, 401)
      t.match(access.body.error_description, /refresh token/)
      t.equal((await call(`${gw.url}/auth/refresh`, { method: 'POST', json: {} })).status, 400)
    })

    t.test('revoke: the presented token, or another token of the same user', async (t) => {
      const gw = await setup(t)
      const mine = sign({ claims: { sub: 'dave' } })
      const myOther = sign({ claims: { sub: 'dave' } })
      const res = await call(`${gw.url}/auth/revoke`, { method: 'POST', token: mine, json: { token: myOther } })
      t.equal(res.status, 200)
      t.equal(await verifyStatus(gw, myOther), 401)
      t.equal(await verifyStatus(gw, mine), 200)
      t.equal((await call(`${gw.url}/auth/revoke`, { method: 'POST', token: mine })).status, 200)
      t.equal(await verifyStatus(gw, mine), 401)
    })

    t.test('revoke refuses another user\'s token without effect', async (t) => {
      const gw = await setup(t)
      const mine = sign({ claims: { sub: 'erin' } })
      const theirs = sign({ claims: { sub: 'frank' } })
      const res = await call(`${gw.url}/auth/revoke`, { method: 'POST', token: mine, json: { token: theirs } })
      t.equal(res.status, 403)
      t.equal(await verifyStatus(gw, theirs), 200)
      t.notMatch(res.text, theirs)
    })

    t.test('validate summarises the bearer token without echoing it', async (t) => {
      const gw = await setup(t)
      const token = sign({ claims: { sub: 'gina', sid: 'v', scope: 'a b', roles: ['x'] } })
      const res = await call(`${gw.url}/auth/token/validate`, { token })
      t.equal(res.status, 200)
      t.match(res.body, { valid: true, sub: 'gina', sid: 'v', token_type: 'access', scope: 'a b', roles: ['x'] })
      t.ok(res.body.expires_in > 890 && res.body.expires_in <= 900)
      t.notMatch(res.text, token)
      await call(`${gw.url}/auth/logout`, { method: 'POST', token })
      const after = await call(`${gw.url}/auth/token/validate`, { token })
      t.equal(after.status, 401)
      t.match(after.headers.get('www-authenticate'), /error="invalid_token"/)
    })
  })
}

t.test('AUTH_PREFIX=/api/auth serves the mobile app\'s paths', async (t) => {
  const gw = await startGateway(t, { AUTH_PREFIX: '/api/auth' })
  const token = sign()
  t.equal((await call(`${gw.url}/api/auth/verify`, { token })).status, 200)
  t.equal((await call(`${gw.url}/api/auth/token/validate`, { token })).status, 200)
  t.equal((await call(`${gw.url}/api/auth/logout`, { method: 'POST', token })).status, 200)
  t.equal((await call(`${gw.url}/api/auth/verify`, { token })).status, 401)
  t.equal((await call(`${gw.url}/auth/verify`, { token })).status, 404)
})

t.test('a revocation write that Redis cannot take answers 503, never 2xx', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const gw = await startGateway(t, { REDIS_URL: redis.url, FAIL_MODE: 'open' })
  const token = sign()
  await redis.kill()
  const res = await call(`${gw.url}/auth/logout`, { method: 'POST', token })
  t.equal(res.status, 503)
  t.equal(res.body.error, 'temporarily_unavailable')
  t.ok(res.headers.get('retry-after'))
})

function payloadOf (token: string): Record<string, any> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString())
}

const DAY_S = 86_400

t.test('issue 11 item 5: past SESSION_MAX_LIFETIME from auth_time, refresh is 401 invalid_grant and spends nothing', async (t) => {
  const gw = await startGateway(t)
  const refresh = sign({ claims: { sid: 'old-session', token_type: 'refresh', auth_time: nowS() - 7 * DAY_S - 10 } })
  const res = await call(`${gw.url}/auth/refresh`, { method: 'POST', json: { refresh_token: refresh } })
  t.equal(res.status, 401)
  t.equal(res.body.error, 'invalid_grant')
  t.match(res.body.error_description, /sign in again/)
  t.notMatch(res.text, refresh)
  const again = await call(`${gw.url}/auth/refresh`, { method: 'POST', json: { refresh_token: refresh } })
  t.equal(again.body.error, 'invalid_grant', 'still the session end, not reuse: the token was not spent')
})

t.test('issue 11 item 5: without auth_time the session starts at the first token\'s iat', async (t) => {
  // A token older than the session whose own lifetime is still accepted (issue 16: JWT_MAX_TOKEN_LIFETIME).
  const gw = await startGateway(t, { JWT_MAX_TOKEN_LIFETIME: '30d' })
  const stale = sign({ claims: { token_type: 'refresh', iat: nowS() - 7 * DAY_S - 5, exp: nowS() + 600 } })
  t.equal((await call(`${gw.url}/auth/refresh`, { method: 'POST', json: { refresh_token: stale } })).body.error, 'invalid_grant')
  const longer = await startGateway(t, { SESSION_MAX_LIFETIME: '30d' })
  const issuedAt = nowS() - 8 * DAY_S
  const first = sign({ claims: { token_type: 'refresh', iat: issuedAt, exp: nowS() + 600 } })
  const res = await call(`${longer.url}/auth/refresh`, { method: 'POST', json: { refresh_token: first } })
  t.equal(res.status, 200)
  t.equal(payloadOf(res.body.refresh_token).auth_time, issuedAt, 'the start is carried as auth_time')
  t.equal(payloadOf(res.body.access_token).auth_time, issuedAt)
})

t.test('issue 11 item 5: a rotation near the session end is cut to it, and the chain carries auth_time', async (t) => {
  const gw = await startGateway(t, { SESSION_MAX_LIFETIME: '2d' })
  const authTime = nowS() - 2 * DAY_S + 120
  const refresh = sign({ claims: { sid: 'ending', token_type: 'refresh', auth_time: authTime, roles: ['user'], exp: nowS() + 5 * DAY_S } })
  const res = await call(`${gw.url}/auth/refresh`, { method: 'POST', json: { refresh_token: refresh } })
  t.equal(res.status, 200)
  const newRefresh = payloadOf(res.body.refresh_token)
  const newAccess = payloadOf(res.body.access_token)
  t.equal(newRefresh.exp, authTime + 2 * DAY_S, 'the refresh token ends with the session')
  t.equal(newAccess.exp, authTime + 2 * DAY_S, 'so does the access token (15 minutes would outlive it)')
  t.ok(res.body.expires_in <= 120, `expires_in tells the cut lifetime (${res.body.expires_in} s)`)
  t.same(newRefresh.roles, ['user'], 'roles are those of the login')
  const next = await call(`${gw.url}/auth/refresh`, { method: 'POST', json: { refresh_token: res.body.refresh_token } })
  t.equal(next.status, 200, 'the rotated token rotates again until the end')
  t.equal(payloadOf(next.body.refresh_token).auth_time, authTime)
})

t.test('SESSION_MAX_LIFETIME needs its unit and stops start-up naming the variable', async (t) => {
  t.throws(() => loadConfig({ ...BASE_ENV, SESSION_MAX_LIFETIME: '30' }), /SESSION_MAX_LIFETIME: "30" is not a duration/)
  t.throws(() => loadConfig({ ...BASE_ENV, SESSION_MAX_LIFETIME: '10s' }), /SESSION_MAX_LIFETIME/)
  t.equal(loadConfig({ ...BASE_ENV }).sessionMaxLifetimeS, 7 * DAY_S, 'default: the refresh lifetime')
  t.equal(loadConfig({ ...BASE_ENV, REFRESH_TOKEN_EXPIRE_DAYS: '3' }).sessionMaxLifetimeS, 3 * DAY_S)
  t.equal(loadConfig({ ...BASE_ENV, SESSION_MAX_LIFETIME: '12h' }).sessionMaxLifetimeS, 12 * 3600)
})
