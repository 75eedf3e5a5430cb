import * as oidc from 'openid-client'
import t from 'tap'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { basic, call } from '../helpers/http.js'
import { sign } from '../helpers/tokens.js'

const API_SECRET = 'api-secret-api-secret-api-secret-0'
const OTHER_SECRET = 'other:secret:with:colons:and-32-bytes'
const ADMIN_SECRET = 'revoker-secret-revoker-secret-revoker'
const CLIENTS = { INTROSPECTION_CLIENTS: `api:${API_SECRET},other:${OTHER_SECRET},revoker:${ADMIN_SECRET}`, REVOCATION_PRIVILEGED_CLIENTS: 'revoker' }
const auth = { authorization: basic('api', API_SECRET) }

/** A real RFC 7662/7009 client (panva's openid-client 6) configured for the gateway's endpoints. */
function client (gw: Gateway, id: string, authentication: oidc.ClientAuth): oidc.Configuration {
  const config = new oidc.Configuration({
    issuer: gw.url,
    introspection_endpoint: `${gw.url}/oauth/introspect`,
    revocation_endpoint: `${gw.url}/oauth/revoke`
  }, id, undefined, authentication)
  oidc.allowInsecureRequests(config)
  return config
}

t.test('RFC 7662 section 2.2 with openid-client: a live access token, token_type Bearer, its client_id and scope', async (t) => {
  const gw = await startGateway(t, { ...CLIENTS, JWT_ISSUER: 'https://login.example', JWT_AUDIENCE: 'finance-api' })
  const token = sign({ claims: { sub: 'u1', sid: 's1', scope: 'accounts:read', client_id: 'mobile', iss: 'https://login.example', aud: 'finance-api', nbf: 1 } })
  const answer = await oidc.tokenIntrospection(client(gw, 'api', oidc.ClientSecretBasic(API_SECRET)), token)
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString())
  t.same({ ...answer }, {
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
    client_id: 'mobile',
    token_type: 'Bearer',
    token_use: 'access'
  })
})

t.test('RFC 7662 section 2.2: client_id and scope are omitted when the token has none (azp stands for client_id)', async (t) => {
  const gw = await startGateway(t, CLIENTS)
  const bare = await oidc.tokenIntrospection(client(gw, 'api', oidc.ClientSecretBasic(API_SECRET)), sign())
  t.equal(bare.active, true)
  t.notOk('client_id' in bare, 'no client_id invented from the caller')
  t.notOk('scope' in bare, 'no empty scope')
  const azp = await oidc.tokenIntrospection(client(gw, 'api', oidc.ClientSecretBasic(API_SECRET)), sign({ claims: { azp: 'spa' } }))
  t.equal(azp.client_id, 'spa')
})

t.test('RFC 6749 section 2.3.1: client_secret_post works like Basic, with openid-client', async (t) => {
  const gw = await startGateway(t, CLIENTS)
  const post = client(gw, 'other', oidc.ClientSecretPost(OTHER_SECRET))
  t.equal((await oidc.tokenIntrospection(post, sign())).active, true, 'secrets may contain colons')
  const token = sign({ claims: { client_id: 'other' } })
  await oidc.tokenRevocation(post, token)
  t.equal((await call(`${gw.url}/auth/verify`, { token })).status, 401)
})

t.test('RFC 6749 section 2.3: Basic and client_secret in the body at once is 400 invalid_request', async (t) => {
  const gw = await startGateway(t, CLIENTS)
  const token = sign()
  const res = await call(`${gw.url}/oauth/introspect`, { method: 'POST', headers: auth, form: { token, client_id: 'api', client_secret: API_SECRET } })
  t.equal(res.status, 400)
  t.equal(res.body.error, 'invalid_request')
  const mismatch = await call(`${gw.url}/oauth/introspect`, { method: 'POST', headers: auth, form: { token, client_id: 'other' } })
  t.equal(mismatch.status, 401, 'a body client_id that contradicts Basic is refused')
})

t.test('RFC 6749 section 5.2 with openid-client: invalid_client is in the Basic challenge, for both methods', async (t) => {
  const gw = await startGateway(t, CLIENTS)
  const attempts: Array<[string, oidc.Configuration]> = [
    ['wrong Basic secret', client(gw, 'api', oidc.ClientSecretBasic('wrong-secret-wrong-secret-wrong-secret'))],
    ['unknown client', client(gw, 'nobody', oidc.ClientSecretBasic(API_SECRET))],
    ['wrong post secret', client(gw, 'api', oidc.ClientSecretPost('wrong-secret-wrong-secret-wrong-secret'))]
  ]
  for (const [name, config] of attempts) {
    for (const call of [async () => await oidc.tokenIntrospection(config, sign()), async () => await oidc.tokenRevocation(config, sign())]) {
      const err = await call().then(() => null, (e: unknown) => e) as oidc.WWWAuthenticateChallengeError | null
      t.ok(err instanceof oidc.WWWAuthenticateChallengeError, `${name}: the client reports the challenge`)
      t.equal(err?.status, 401)
      t.same(err?.cause.map((c) => [c.scheme, c.parameters.realm, c.parameters.error]), [['basic', 'tokengate', 'invalid_client']], `${name}: error="invalid_client" is parsed`)
    }
  }
})

t.test('a refresh token introspects with token_use refresh and no RFC 6749 token_type, whatever the hint', async (t) => {
  const gw = await startGateway(t, CLIENTS)
  const token = sign({ claims: { token_type: 'refresh' } })
  const res = await call(`${gw.url}/oauth/introspect`, { method: 'POST', headers: auth, form: { token, token_type_hint: 'access_token' } })
  t.equal(res.body.active, true)
  t.equal(res.body.token_use, 'refresh')
  t.notOk('token_type' in res.body, 'a resource server checking token_type=Bearer never takes it for an access token')
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
    for (const headers of [{} as Record<string, string>, { authorization: basic('api', 'wrong') }, { authorization: basic('nobody', API_SECRET) }, { authorization: 'Basic !!!' }]) {
      const res = await call(`${gw.url}${path}`, { method: 'POST', headers, form: { token } })
      t.equal(res.status, 401, `${path} ${JSON.stringify(headers)}`)
      t.equal(res.body.error, 'invalid_client')
      t.match(res.headers.get('www-authenticate'), /^Basic realm="tokengate", error="invalid_client"/)
    }
  }
  t.equal((await call(`${gw.url}/auth/verify`, { token })).status, 200, 'failed calls revoked nothing')
})

t.test('without INTROSPECTION_CLIENTS the OAuth endpoints refuse everyone', async (t) => {
  const gw = await startGateway(t)
  const res = await call(`${gw.url}/oauth/introspect`, { method: 'POST', headers: auth, form: { token: sign() } })
  t.equal(res.status, 401)
})

t.test('RFC 7009 section 2.1 with openid-client: a client revokes its own token (client_id or azp); 200 and the token stops working', async (t) => {
  const gw = await startGateway(t, CLIENTS)
  const api = client(gw, 'api', oidc.ClientSecretBasic(API_SECRET))
  for (const claims of [{ client_id: 'api' }, { azp: 'api' }]) {
    const token = sign({ claims })
    await oidc.tokenRevocation(api, token, { token_type_hint: 'refresh_token' })
    t.equal((await call(`${gw.url}/auth/verify`, { token })).status, 401, JSON.stringify(claims))
    t.same({ ...await oidc.tokenIntrospection(api, token) }, { active: false })
  }
})

t.test('RFC 7009 section 2.1: another client\'s token, or a token issued to no client, is refused unless the client is privileged', async (t) => {
  const gw = await startGateway(t, CLIENTS)
  const api = client(gw, 'api', oidc.ClientSecretBasic(API_SECRET))
  for (const token of [sign({ claims: { client_id: 'other' } }), sign({ claims: { azp: 'other' } }), sign()]) {
    const err = await oidc.tokenRevocation(api, token).then(() => null, (e: unknown) => e) as oidc.ResponseBodyError | null
    t.ok(err instanceof oidc.ResponseBodyError)
    t.equal(err?.status, 400)
    t.equal(err?.error, 'unauthorized_client')
    t.equal((await call(`${gw.url}/auth/verify`, { token })).status, 200, 'not revoked')
  }
  const privileged = client(gw, 'revoker', oidc.ClientSecretBasic(ADMIN_SECRET))
  const users = sign()
  await oidc.tokenRevocation(privileged, users)
  t.equal((await call(`${gw.url}/auth/verify`, { token: users })).status, 401, 'REVOCATION_PRIVILEGED_CLIENTS revoke any token')
  t.equal((await oidc.tokenIntrospection(api, sign({ claims: { client_id: 'other' } }))).active, true, 'introspection stays open to any resource server')
})

t.test('RFC 7009: revoking a refresh token ends its grant, access tokens included', async (t) => {
  const gw = await startGateway(t, CLIENTS)
  const refresh = sign({ claims: { sid: 'grant-1', token_type: 'refresh', client_id: 'api' } })
  const access = sign({ claims: { sid: 'grant-1', client_id: 'api' } })
  await call(`${gw.url}/oauth/revoke`, { method: 'POST', headers: auth, form: { token: refresh } })
  t.equal((await call(`${gw.url}/auth/verify`, { token: access })).status, 401)
})

t.test('RFC 7009 section 2.2: invalid and unknown tokens still get 200; a missing token is 400', async (t) => {
  const gw = await startGateway(t, CLIENTS)
  for (const token of ['garbage', sign({ key: 'unknown-secret-unknown-secret-unknown-secret' }), sign({ claims: { iat: 1, exp: 2 } })]) {
    t.equal((await call(`${gw.url}/oauth/revoke`, { method: 'POST', headers: auth, form: { token } })).status, 200)
  }
  const missing = await call(`${gw.url}/oauth/revoke`, { method: 'POST', headers: auth, form: {} })
  t.equal(missing.status, 400)
  t.equal(missing.body.error, 'invalid_request')
})

t.test('INTROSPECTION_CLIENTS secrets shorter than 32 bytes and unknown privileged clients stop start-up', async (t) => {
  const { loadConfig } = await import('../../src/config/load.js')
  const { BASE_ENV } = await import('../helpers/gateway.js')
  t.throws(() => loadConfig({ ...BASE_ENV, INTROSPECTION_CLIENTS: 'api:s3cret' }), /INTROSPECTION_CLIENTS: the secret of client "api" is shorter than 32 bytes/)
  t.throws(() => loadConfig({ ...BASE_ENV, INTROSPECTION_CLIENTS: 'api:s3cret' }), { message: /^(?!.*s3cret)/s }, 'the secret is not echoed')
  t.throws(() => loadConfig({ ...BASE_ENV, ...CLIENTS, REVOCATION_PRIVILEGED_CLIENTS: 'ghost' }), /REVOCATION_PRIVILEGED_CLIENTS: "ghost" is not a client/)
  t.equal(loadConfig({ ...BASE_ENV, ...CLIENTS }).introspectionClients.find((c) => c.id === 'revoker')?.privileged, true)
})
