import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { startUpstream } from '../helpers/upstream.js'
import { sign } from '../helpers/tokens.js'

const typed = (typ: string | undefined, claims: Record<string, unknown> = {}): string =>
  sign({ claims, header: typ === undefined ? {} : { typ } })

const headerOf = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString())

// RFC 9068 §4: a resource server refuses JWTs whose typ is not at+jwt; RFC 7515 §4.1.9: compared
// case-insensitively, and "application/" may be omitted.
t.test('JWT_REQUIRED_TYP=at+jwt: at+jwt in any spelling passes, an ID token (typ JWT) or no typ is refused', async (t) => {
  const gw = await startGateway(t, { JWT_REQUIRED_TYP: 'at+jwt' })
  for (const typ of ['at+jwt', 'application/at+jwt', 'AT+JWT', 'Application/At+JWT']) {
    t.equal((await call(`${gw.url}/auth/verify`, { token: typed(typ) })).status, 200, typ)
  }
  for (const typ of ['JWT', 'id_token+jwt', 'application/jwt', 'at+jwt2', undefined]) {
    const res = await call(`${gw.url}/auth/verify`, { token: typed(typ) })
    t.equal(res.status, 401, String(typ))
    t.equal(res.body.error, 'invalid_token')
    t.match(res.body.error_description, /typ/)
  }
})

t.test('JWT_REQUIRED_TYP in proxy mode and on bearer routes: the ID token reaches nothing', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { JWT_REQUIRED_TYP: 'application/at+jwt', UPSTREAM_URL: upstream.url })
  const idToken = typed('JWT', { roles: ['admin'] })
  t.equal((await call(`${gw.url}/orders`, { token: idToken })).status, 401)
  t.equal((await call(`${gw.url}/admin/alerts`, { token: idToken })).status, 401)
  t.equal((await call(`${gw.url}/auth/logout`, { method: 'POST', token: idToken })).status, 401)
  t.equal(upstream.seen.length, 0)
  t.equal((await call(`${gw.url}/orders`, { token: typed('at+jwt') })).status, 200)
})

t.test('JWT_REQUIRED_TYP: refresh rotation still works, and the access token tokengate issues carries the typ', async (t) => {
  const gw = await startGateway(t, { JWT_REQUIRED_TYP: 'at+jwt' })
  const refresh = sign({ claims: { sub: 'carol', sid: 's1', token_type: 'refresh' } })
  const res = await call(`${gw.url}/auth/refresh`, { method: 'POST', json: { refresh_token: refresh } })
  t.equal(res.status, 200)
  t.equal(headerOf(res.body.access_token).typ, 'at+jwt')
  t.not(headerOf(res.body.refresh_token).typ, 'at+jwt', 'a refresh token is no access token')
  t.equal((await call(`${gw.url}/auth/verify`, { token: res.body.access_token })).status, 200)
  t.equal((await call(`${gw.url}/auth/refresh`, { method: 'POST', json: { refresh_token: res.body.refresh_token } })).status, 200)
})

t.test('without JWT_REQUIRED_TYP any typ passes (the default)', async (t) => {
  const gw = await startGateway(t)
  for (const typ of ['JWT', 'at+jwt', undefined]) t.equal((await call(`${gw.url}/auth/verify`, { token: typed(typ) })).status, 200, String(typ))
})
