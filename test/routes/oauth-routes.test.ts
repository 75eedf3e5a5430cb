import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { basic, call } from '../helpers/http.js'
import { sign } from '../helpers/tokens.js'

const CLIENTS = { INTROSPECTION_CLIENTS: 'api:s3cret,other:pa:ss' }
const auth = { authorization: basic('api', 's3cret') }

t.test('introspection of a live access token returns RFC 7662 fields', async (t) => {
  const gw = await startGateway(t, { ...CLIENTS, JWT_ISSUER: 'https://login.example', JWT_AUDIENCE: 'finance-api' })
  const token = sign({ claims: { sub: 'u1', sid: 's1', scope: 'accounts:read', iss: 'https://login.example', aud: 'finance-api', nbf: 1 } })
  const res = await call(`${gw.url}/oauth/introspect`, { method: 'POST', headers: auth, form: { token } })
  t.equal(res.status, 200)
  t.equal(res.headers.get('cache-control'), 'no-store')
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString())
  t.same(res.body, {
    active: true,
    sub: 'u1',
    jti: claims.jti,
    exp: claims.exp,
    iat: claims.iat,
    nbf: 1,
    iss: 'https://login.example',
    aud: 'finance-api',
    sid: 's1',
    scope: 'accounts:read',
    client_id: 'api',
    token_type: 'access_token'
  })
})

t.test('a refresh token introspects as refresh_token, whatever the hint says', async (t) => {
  const gw = await startGateway(t, CLIENTS)
  const token = sign({ claims: { token_type: 'refresh' } })
  const res = await call(`${gw.url}/oauth/introspect`, { method: 'POST', headers: auth, form: { token, token_type_hint: 'access_token' } })
  t.equal(res.body.active, true)
  t.equal(res.body.token_type, 'refresh_token')
})

t.test('anything unusable is {active:false} and nothing else', async (t) => {
  const gw = await startGateway(t, CLIENTS)
  const revoked = sign()
  await call(`${gw.url}/auth/logout`, { method: 'POST', token: revoked })
  const cases = {
    revoked,
    expired: sign({ claims: { iat: 1, exp: 2 } }),
    forged: sign({ key: 'another-secret-another-secret-another-secret' }),
    garbage: 'not.a.token'
  }
  for (const [name, token] of Object.entries(cases)) {
    const res = await call(`${gw.url}/oauth/introspect`, { method: 'POST', headers: auth, form: { token } })
    t.equal(res.status, 200, name)
    t.same(res.body, { active: false }, name)
  }
})

t.test('introspection and RFC 7009 revocation require client authentication', async (t) => {
  const gw = await startGateway(t, CLIENTS)
  const token = sign()
  for (const path of ['/oauth/introspect', '/oauth/revoke']) {
    for (const headers of [{} as Record<string, string>, { authorization: basic('api', 'wrong') }, { authorization: basic('nobody', 's3cret') }, { authorization: 'Basic !!!' }]) {
      const res = await call(`${gw.url}${path}`, { method: 'POST', headers, form: { token } })
      t.equal(res.status, 401, `${path} ${JSON.stringify(headers)}`)
      t.equal(res.body.error, 'invalid_client')
      t.match(res.headers.get('www-authenticate'), /^Basic/)
    }
  }
  const other = await call(`${gw.url}/oauth/introspect`, { method: 'POST', headers: { authorization: basic('other', 'pa:ss') }, form: { token } })
  t.equal(other.body.active, true, 'secrets may contain colons')
  t.equal((await call(`${gw.url}/auth/verify`, { token })).status, 200, 'failed calls revoked nothing')
})

t.test('without INTROSPECTION_CLIENTS the OAuth endpoints refuse everyone', async (t) => {
  const gw = await startGateway(t)
  const res = await call(`${gw.url}/oauth/introspect`, { method: 'POST', headers: auth, form: { token: sign() } })
  t.equal(res.status, 401)
})

t.test('RFC 7009: revocation answers 200 and the token stops working', async (t) => {
  const gw = await startGateway(t, CLIENTS)
  const token = sign()
  const res = await call(`${gw.url}/oauth/revoke`, { method: 'POST', headers: auth, form: { token, token_type_hint: 'refresh_token' } })
  t.equal(res.status, 200)
  t.equal(res.text, '')
  t.equal((await call(`${gw.url}/auth/verify`, { token })).status, 401)
  const introspected = await call(`${gw.url}/oauth/introspect`, { method: 'POST', headers: auth, form: { token } })
  t.same(introspected.body, { active: false })
})

t.test('RFC 7009: revoking a refresh token ends its grant, access tokens included', async (t) => {
  const gw = await startGateway(t, CLIENTS)
  const refresh = sign({ claims: { sid: 'grant-1', token_type: 'refresh' } })
  const access = sign({ claims: { sid: 'grant-1' } })
  await call(`${gw.url}/oauth/revoke`, { method: 'POST', headers: auth, form: { token: refresh } })
  t.equal((await call(`${gw.url}/auth/verify`, { token: access })).status, 401)
})

t.test('RFC 7009: invalid and unknown tokens still get 200; a missing token is 400', async (t) => {
  const gw = await startGateway(t, CLIENTS)
  for (const token of ['garbage', sign({ key: 'unknown-secret-unknown-secret-unknown-secret' }), sign({ claims: { iat: 1, exp: 2 } })]) {
    t.equal((await call(`${gw.url}/oauth/revoke`, { method: 'POST', headers: auth, form: { token } })).status, 200)
  }
  const missing = await call(`${gw.url}/oauth/revoke`, { method: 'POST', headers: auth, form: {} })
  t.equal(missing.status, 400)
  t.equal(missing.body.error, 'invalid_request')
})
