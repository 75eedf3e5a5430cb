import { readFileSync } from 'node:fs'
import t from 'tap'
import { IDENTITY_HEADERS } from '../../src/decision/identity.js'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { startRedis } from '../helpers/redis.js'
import { until } from '../helpers/until.js'
import { sign } from '../helpers/tokens.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { caddyMissing, SHIPPED_CADDYFILE, startCaddy, type Caddy } from './caddy.js'
import { tempFile } from '../helpers/temp-dir.js'
import { REFUSALS, sameAsTokengate } from './refusals.js'

// Real Caddy with deploy/caddy/Caddyfile (only addresses changed), a real
// upstream, tokengate on a spawned Redis: the same cases as nginx.test.ts.
const skip = caddyMissing

const redis = caddyMissing === false ? await startRedis() : null
t.teardown(async () => { await redis?.stop() })

const rules = tempFile(t, 'rules.json', JSON.stringify([{ method: 'POST', path: '/payments', scopes: ['payments:write'] }]))

interface Stack { readonly caddy: Caddy, readonly api: Upstream, readonly gw: Gateway, close: () => Promise<void> }

async function stack (t: { teardown: (fn: () => unknown) => void }, env: Record<string, string> = {}): Promise<Stack> {
  const gw = await startGateway(t, { REDIS_URL: redis?.url, PUBLIC_PATHS: '/public', ACCESS_RULES_FILE: rules, ...env })
  const api = await startUpstream(t)
  const caddy = await startCaddy(t, { tokengate: Number(new URL(gw.url).port), api: api.port })
  return { caddy, api, gw, close: async () => { await gw.app.close() } }
}

t.test('the Caddyfile drops and copies exactly the identity headers tokengate answers with', async (t) => {
  const lines = readFileSync(SHIPPED_CADDYFILE, 'utf8').split('\n').map((l) => l.trim()).filter((l) => !l.startsWith('#'))
  const at = (pattern: RegExp): number => lines.findIndex((l) => pattern.test(l))
  const copied = /^copy_headers (.+)$/.exec(lines[at(/^copy_headers /)])?.[1].split(/\s+/) ?? []
  t.same(copied.map((h) => h.toLowerCase()), [...IDENTITY_HEADERS], 'copy_headers names every identity header, X-Token-Scope included')
  const forwardAuth = at(/^forward_auth /)
  const dropped = lines.slice(0, forwardAuth).flatMap((l) => /^request_header -(\S+)$/.exec(l)?.[1].toLowerCase() ?? [])
  t.same(dropped, [...IDENTITY_HEADERS, 'x-original-method', 'x-original-uri',
    'client-cert', 'x-ssl-client-cert', 'x-ssl-client-verify', 'x-forwarded-client-cert', 'x-forwarded-tls-client-cert'], 'the client\'s copies are dropped before forward_auth (client certificate headers too: docs/mtls.md)')
  const cleaned = lines.slice(forwardAuth).flatMap((l) => /^request_header @\w+ -(\S+)$/.exec(l)?.[1].toLowerCase() ?? [])
  t.same(cleaned, [...IDENTITY_HEADERS], 'and a placeholder left by Caddy < 2.7 is dropped after it')
})

t.test('allow: the API answers, with every identity header Caddy copied from tokengate\'s answer', { skip }, async (t) => {
  const { caddy, api } = await stack(t)
  const token = sign({ claims: { sub: 'alice', jti: 'jti-allow-1', scope: 'accounts:read payments:read', roles: ['customer', 'beta'] } })
  const res = await call(`${caddy.url}/accounts/42?view=full`, { token })
  t.equal(res.status, 200)
  t.equal(res.body.url, '/accounts/42?view=full')
  t.equal(res.body.headers['x-user-id'], 'alice')
  t.equal(res.body.headers['x-token-jti'], 'jti-allow-1')
  t.equal(res.body.headers['x-token-scope'], 'accounts:read payments:read')
  t.equal(res.body.headers['x-user-roles'], 'customer,beta')
  t.equal(res.body.headers.authorization, `Bearer ${token}`, 'the API still gets the token itself')
  t.equal(api.seen.length, 1)
})

// Issue 20 item 3: Caddy's {http.request.uuid} is the one id of a request, end to end.
t.test('one request id: the client\'s answer, the API and tokengate\'s decision log see Caddy\'s request uuid', { skip }, async (t) => {
  const { caddy, api, gw } = await stack(t)
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
  const allowed = await call(`${caddy.url}/accounts/42`, { token: sign(), headers: { 'x-request-id': 'chosen-by-client' } })
  t.equal(allowed.status, 200)
  const id = allowed.headers.get('x-request-id')
  t.match(id, UUID, 'Caddy\'s own id (one header, the client\'s replaced)')
  t.equal(api.seen.at(-1)?.headers['x-request-id'], id, 'the API got the same id')
  const denied = await call(`${caddy.url}/accounts/42`, { token: sign({ key: 'forged-secret-forged-secret-forged-secret' }) })
  t.equal(denied.status, 401)
  const line = gw.logs.map((l) => JSON.parse(l) as { msg: string, reqId: string }).find((l) => l.msg === 'decision')
  t.match(denied.headers.get('x-request-id'), UUID)
  t.equal(line?.reqId, denied.headers.get('x-request-id'), 'tokengate logged the refusal under the id the client got')
})

t.test('no token: tokengate\'s 401 JSON with its Bearer challenge (RFC 6750 §3), the API never sees the request', { skip }, async (t) => {
  const { caddy, api } = await stack(t)
  const res = await call(`${caddy.url}/accounts/42`)
  t.equal(res.status, 401)
  t.match(res.headers.get('content-type'), /^application\/json/)
  t.equal(res.body.error, 'invalid_token')
  t.match(res.headers.get('www-authenticate'), /^Bearer realm="tokengate"/)
  t.equal(api.seen.length, 0)
})

t.test('a token with a bad signature: 401 invalid_token, the API never sees the request', { skip }, async (t) => {
  const { caddy, api } = await stack(t)
  const res = await call(`${caddy.url}/accounts/42`, { token: sign({ key: 'forged-secret-forged-secret-forged-secret' }) })
  t.equal(res.status, 401)
  t.equal(res.body.error, 'invalid_token')
  t.match(res.headers.get('www-authenticate'), /error="invalid_token"/)
  t.equal(api.seen.length, 0)
})

t.test('identity headers a client sends never reach the API, in any spelling, also where tokengate sends none', { skip }, async (t) => {
  const { caddy } = await stack(t)
  const spoofed = { 'X-User-Id': 'mallory', 'x-token-scope': 'admin', 'X-USER-ROLES': 'admin', 'x-Token-Jti': 'forged', 'X-User-issuer': 'https://partner.example' }
  const withToken = await call(`${caddy.url}/accounts`, { token: sign({ claims: { sub: 'alice', scope: 'read' } }), headers: spoofed })
  t.equal(withToken.status, 200)
  t.equal(withToken.body.headers['x-user-id'], 'alice')
  t.equal(withToken.body.headers['x-token-scope'], 'read')
  t.not(withToken.body.headers['x-token-jti'], 'forged')
  t.equal(withToken.body.headers['x-user-roles'] ?? '', '', 'no roles in the token: none (or empty)')
  t.equal(withToken.body.headers['x-user-issuer'] ?? '', '', 'no issuer in the token: none (or empty), never the client\'s')
  const anonymous = await call(`${caddy.url}/public/rates`, { headers: spoofed })
  t.equal(anonymous.status, 200, 'a public path passes without a token')
  for (const name of IDENTITY_HEADERS) t.equal(anonymous.body.headers[name], undefined, `${name}: neither the client's value nor a Caddy placeholder on a public path`)
})

t.test('a client\'s X-Forwarded-Uri/-Method cannot turn a private path into a public one', { skip }, async (t) => {
  const { caddy, api } = await stack(t)
  const res = await call(`${caddy.url}/accounts/42`, { headers: { 'x-forwarded-uri': '/public/x', 'x-forwarded-method': 'GET', 'x-original-uri': '/public/x' } })
  t.equal(res.status, 401)
  t.equal(api.seen.length, 0)
})

t.test('logout through Caddy, then the same token is denied', { skip }, async (t) => {
  const { caddy, api } = await stack(t)
  const token = sign({ claims: { sub: 'alice' } })
  t.equal((await call(`${caddy.url}/accounts`, { token })).status, 200)
  const logout = await call(`${caddy.url}/auth/logout`, { method: 'POST', token })
  t.equal(logout.status, 200)
  const after = await call(`${caddy.url}/accounts`, { token })
  t.equal(after.status, 401)
  t.equal(after.body.error, 'invalid_token')
  t.equal(api.seen.length, 1, 'only the request before the logout reached the API')
})

t.test('an access rule the token does not satisfy: 403 insufficient_scope (RFC 6750 §3.1); the original method reaches tokengate', { skip }, async (t) => {
  const { caddy, api } = await stack(t)
  const res = await call(`${caddy.url}/payments`, { method: 'POST', token: sign({ claims: { scope: 'accounts:read' } }), json: { amount: 1 } })
  t.equal(res.status, 403)
  t.equal(res.body.error, 'insufficient_scope')
  t.equal(api.seen.length, 0)
  const allowed = await call(`${caddy.url}/payments`, { method: 'POST', token: sign({ claims: { scope: 'payments:write' } }), json: { amount: 1 } })
  t.equal(allowed.status, 200, 'the rule is for POST')
  t.equal(allowed.body.bodyBytes, 12, 'the body still reaches the API')
})

t.test('a malformed Authorization header: 400 invalid_request', { skip }, async (t) => {
  const { caddy, api } = await stack(t)
  const res = await call(`${caddy.url}/accounts`, { headers: { authorization: 'Bearer not a token' } })
  t.equal(res.status, 400)
  t.equal(res.body.error, 'invalid_request')
  t.equal(api.seen.length, 0)
})

t.test('Redis down with FAIL_MODE=closed: tokengate\'s 503 reaches the client, nothing reaches the API', { skip }, async (t) => {
  const down = await startRedis()
  const { caddy, api } = await stack(t, { REDIS_URL: down.url, FAIL_MODE: 'closed', MAX_STALENESS_MS: '500' })
  await down.stop()
  // Until its state is MAX_STALENESS_MS old the replica still decides exactly (nobody can revoke meanwhile).
  t.ok(await until(async () => (await call(`${caddy.url}/accounts`, { token: sign() })).status === 503, 3000), 'refused once stale')
  api.seen.length = 0
  const res = await call(`${caddy.url}/accounts`, { token: sign() })
  t.equal(res.status, 503)
  t.equal(res.body.error, 'temporarily_unavailable')
  t.equal(api.seen.length, 0)
})

t.test('tokengate unreachable: 503 JSON, and nothing reaches the API', { skip }, async (t) => {
  const { caddy, api, close } = await stack(t)
  await close()
  const res = await call(`${caddy.url}/accounts`, { token: sign() })
  t.equal(res.status, 503)
  t.match(res.headers.get('content-type'), /^application\/json/)
  t.equal(res.body.error, 'temporarily_unavailable')
  t.equal(api.seen.length, 0)
})

t.test('every refusal reaches the client as tokengate wrote it: status, JSON body, challenge', { skip }, async (t) => {
  const { caddy, api, gw } = await stack(t)
  for (const refusal of REFUSALS) await t.test(`${refusal.status}: ${refusal.what}`, async (t) => { await sameAsTokengate(t, caddy.url, gw.url, refusal) })
  t.equal(api.seen.length, 0, 'nothing reached the API')
})
