import { readFileSync } from 'node:fs'
import t from 'tap'
import { parse } from 'yaml'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { call, type JsonResponse } from '../helpers/http.js'
import { startRedis } from '../helpers/redis.js'
import { sign } from '../helpers/tokens.js'
import { boundToken, dpopKey, proof } from '../helpers/dpop.js'
import { tempFile } from '../helpers/temp-dir.js'

// Traefik is not installable here: these tests send /auth/verify exactly what
// Traefik's ForwardAuth sends with deploy/traefik/dynamic.yml (a GET to
// `address` with X-Forwarded-Method/-Proto/-Host/-Uri/-For set by Traefik and
// only authRequestHeaders copied from the client), then apply
// authResponseHeaders the way Traefik does to build the request the API gets.

interface ForwardAuth {
  readonly address: string
  readonly trustForwardHeader: boolean
  readonly authRequestHeaders: string[]
  readonly authResponseHeaders: string[]
}
const shipped: ForwardAuth = parse(readFileSync(new URL('../../deploy/traefik/dynamic.yml', import.meta.url), 'utf8')).http.middlewares.tokengate.forwardAuth

interface ClientRequest {
  readonly method: string
  readonly uri: string
  readonly headers?: Record<string, string>
}

/** Traefik's forward request: GET, allowed client headers, then its own X-Forwarded-* (trustForwardHeader: false). */
async function forwardAuth (gw: Gateway, client: ClientRequest): Promise<JsonResponse> {
  const headers: Record<string, string> = {}
  const sent = Object.fromEntries(Object.entries(client.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]))
  for (const name of shipped.authRequestHeaders) {
    const value = sent[name.toLowerCase()]
    if (value !== undefined) headers[name] = value
  }
  Object.assign(headers, {
    'X-Forwarded-For': '203.0.113.7',
    'X-Forwarded-Method': client.method,
    'X-Forwarded-Proto': 'https',
    'X-Forwarded-Host': 'api.example.com',
    'X-Forwarded-Uri': client.uri
  })
  return await call(new URL(new URL(shipped.address).pathname, gw.url).href, { method: 'GET', headers })
}

/** The headers the API receives after an allow: authResponseHeaders replace the client's. */
function apiHeaders (client: ClientRequest, answer: JsonResponse): Record<string, string> {
  const out = Object.fromEntries(Object.entries(client.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]))
  for (const name of shipped.authResponseHeaders) {
    delete out[name.toLowerCase()]
    const value = answer.headers.get(name)
    if (value !== null) out[name.toLowerCase()] = value
  }
  return out
}

const rules = tempFile(t, 'rules.json', JSON.stringify([{ method: 'POST', path: '/payments', scopes: ['payments:write'] }]))
const env = { PUBLIC_PATHS: '/public', ACCESS_RULES_FILE: rules }

t.test('the shipped middleware asks /auth/verify and trusts no client X-Forwarded-* header', async (t) => {
  t.equal(new URL(shipped.address).pathname, '/auth/verify')
  t.equal(shipped.trustForwardHeader, false)
  t.same(shipped.authRequestHeaders, ['Authorization', 'DPoP'], 'the credentials: the token and its DPoP proof')
})

t.test('allow: 200 carrying every authResponseHeaders header, which replace what the client sent', async (t) => {
  const gw = await startGateway(t, env)
  const client = {
    method: 'GET',
    uri: '/accounts/42?view=full',
    headers: {
      Authorization: `Bearer ${sign({ claims: { iss: 'https://sso.example.com/realms/customers', sub: 'alice', jti: 'jti-traefik-1', scope: 'accounts:read', roles: ['customer'] } })}`,
      'X-User-Id': 'mallory',
      'X-User-Issuer': 'https://partner.example'
    }
  }
  const answer = await forwardAuth(gw, client)
  t.equal(answer.status, 200)
  for (const name of shipped.authResponseHeaders) t.not(answer.headers.get(name), null, `${name} in tokengate's answer`)
  const api = apiHeaders(client, answer)
  t.equal(api['x-user-id'], 'alice')
  t.equal(api['x-token-jti'], 'jti-traefik-1')
  t.equal(api['x-token-scope'], 'accounts:read')
  t.equal(api['x-user-roles'], 'customer')
  t.equal(api['x-user-issuer'], 'https://sso.example.com/realms/customers', 'the identity is the pair: the client\'s issuer header is replaced too')
})

t.test('deny: 401 with the Bearer challenge and JSON body Traefik hands to the client', async (t) => {
  const gw = await startGateway(t, env)
  const missing = await forwardAuth(gw, { method: 'GET', uri: '/accounts/42' })
  t.equal(missing.status, 401)
  t.match(missing.headers.get('www-authenticate'), /^Bearer realm="tokengate"/)
  t.match(missing.headers.get('content-type'), /^application\/json/)
  const forged = await forwardAuth(gw, { method: 'GET', uri: '/accounts/42', headers: { Authorization: `Bearer ${sign({ key: 'forged-secret-forged-secret-forged-secret' })}` } })
  t.equal(forged.status, 401)
  t.equal(forged.body.error, 'invalid_token')
})

t.test('X-Forwarded-Uri from a trusted proxy decides public paths', async (t) => {
  const gw = await startGateway(t, env)
  t.equal((await forwardAuth(gw, { method: 'GET', uri: '/public/rates?ccy=EUR' })).status, 200)
  t.equal((await forwardAuth(gw, { method: 'GET', uri: '/accounts' })).status, 401)
})

t.test('X-Forwarded-Method decides access rules: POST /payments needs payments:write, GET does not', async (t) => {
  const gw = await startGateway(t, env)
  const headers = { Authorization: `Bearer ${sign({ claims: { scope: 'accounts:read' } })}` }
  const post = await forwardAuth(gw, { method: 'POST', uri: '/payments', headers })
  t.equal(post.status, 403)
  t.equal(post.body.error, 'insufficient_scope')
  t.equal((await forwardAuth(gw, { method: 'GET', uri: '/payments', headers })).status, 200)
})

t.test('the same headers from a peer outside TRUSTED_PROXIES are ignored: no public path by header', async (t) => {
  const gw = await startGateway(t, { ...env, TRUSTED_PROXIES: '10.0.0.1' })
  t.equal((await forwardAuth(gw, { method: 'GET', uri: '/public/rates' })).status, 401)
})

t.test('logout, then the forward-auth answer for the same token is 401', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const gw = await startGateway(t, { ...env, REDIS_URL: redis.url })
  const token = sign({ claims: { sub: 'alice' } })
  const headers = { Authorization: `Bearer ${token}` }
  t.equal((await forwardAuth(gw, { method: 'GET', uri: '/accounts', headers })).status, 200)
  t.equal((await call(`${gw.url}/auth/logout`, { method: 'POST', token })).status, 200)
  const after = await forwardAuth(gw, { method: 'GET', uri: '/accounts', headers })
  t.equal(after.status, 401)
  t.equal(after.body.error, 'invalid_token')
})

t.test('RFC 9449 §7.1 through the shipped middleware: a DPoP-bound token passes with its proof (the DPoP header reaches tokengate), a replay does not', async (t) => {
  const gw = await startGateway(t, { DPOP: 'true', DPOP_ORIGINS: 'https://api.example.com' })
  const key = dpopKey()
  const token = boundToken(key)
  const p = proof(key, { htm: 'POST', htu: 'https://api.example.com/transfers', token })
  const client = { method: 'POST', uri: '/transfers?x=1', headers: { Authorization: `DPoP ${token}`, DPoP: p } }
  const answer = await forwardAuth(gw, client)
  t.equal(answer.status, 200)
  t.equal(answer.headers.get('x-token-binding'), 'dpop')
  t.equal((await forwardAuth(gw, client)).status, 401, 'the same proof again')
})
