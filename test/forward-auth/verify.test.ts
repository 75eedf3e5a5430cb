import t from 'tap'
import { buildGateway, startGateway, type Gateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { ask } from '../helpers/inject.js'
import { sign } from '../helpers/tokens.js'
import { buildRequest, rawRequest } from '../helpers/raw-http.js'
import { tempFile } from '../helpers/temp-dir.js'

function rulesFile (rules: unknown): string {
  return tempFile(t, 'rules.json', JSON.stringify(rules))
}

const RULES = rulesFile([
  { method: 'POST', path: '/payments', scopes: ['payments:write'] },
  { method: '*', path: '/admin', roles: ['admin', 'auditor'] }
])

type Built = Omit<Gateway, 'url'>
const built = new Map<string, Promise<Built>>()

/**
 * Decisions go through the gateway's own node:http handler without a socket
 * (light-my-request), one gateway per environment for the file: a decision
 * keeps nothing these tests read. Tests where the connection is the
 * behaviour (framing, keep-alive, Node's header parser) use a socket.
 */
async function gateway (env: Record<string, string> = {}): Promise<Built> {
  const key = JSON.stringify(env)
  let gw = built.get(key)
  if (gw === undefined) built.set(key, gw = buildGateway(t, env))
  return await gw
}

t.test('an allow is an empty 200 carrying the identity headers', async (t) => {
  const { app } = await gateway()
  const token = sign({ claims: { sub: 'alice', jti: 'jti-1', scope: 'read write', roles: ['teller', 'admin'], iss: 'https://idp.example/realms/bank' } })
  const res = await ask(app, '/auth/verify', { token })
  t.equal(res.status, 200)
  t.equal(res.headers.get('x-user-id'), 'alice')
  t.equal(res.headers.get('x-token-jti'), 'jti-1')
  t.equal(res.headers.get('x-token-scope'), 'read write')
  t.equal(res.headers.get('x-user-roles'), 'teller,admin')
  t.equal(res.headers.get('x-user-issuer'), 'https://idp.example/realms/bank')
  t.equal(res.headers.get('content-length'), '0')
  t.equal(res.text, '')
})

t.test('any method is answered (nginx may forward the original one)', async (t) => {
  const { app } = await gateway()
  for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD']) {
    t.equal((await ask(app, '/auth/verify', { method, token: sign() })).status, 200, method)
  }
})

t.test('no token: 401 with a bare Bearer challenge (RFC 6750 3.1: no error code without credentials)', async (t) => {
  const { app } = await gateway()
  const res = await ask(app, '/auth/verify')
  t.equal(res.status, 401)
  t.equal(res.headers.get('www-authenticate'), 'Bearer realm="tokengate"')
  t.same(Object.keys(res.body).sort(), ['error', 'error_description'])
  t.equal(res.headers.get('cache-control'), 'no-store')
})

t.test('insufficient scope: 403 naming the required scope, never echoing the token', async (t) => {
  const { app } = await gateway({ ACCESS_RULES_FILE: RULES })
  const reader = sign({ claims: { scope: 'payments:read' } })
  const res = await ask(app, '/auth/verify', { token: reader, headers: { 'x-forwarded-uri': '/payments/77', 'x-forwarded-method': 'POST' } })
  t.equal(res.status, 403)
  t.equal(res.headers.get('www-authenticate'), 'Bearer realm="tokengate", error="insufficient_scope", scope="payments:write"')
  t.same(Object.keys(res.body).sort(), ['error', 'error_description'])
  t.equal(res.body.error, 'insufficient_scope')
  t.notMatch(res.text, reader.split('.')[1])
})

t.test('nginx X-Original-URI from a trusted proxy makes a public path public', async (t) => {
  const { app } = await gateway({ PUBLIC_PATHS: '/public' })
  const res = await ask(app, '/auth/verify', { headers: { 'x-original-uri': '/public/rates?ccy=EUR', 'x-original-method': 'GET' } })
  t.equal(res.status, 200)
  t.equal(res.headers.get('x-user-id'), null, 'no identity without a token')
})

t.test('Traefik X-Forwarded-* from a trusted proxy makes a public path public', async (t) => {
  const { app } = await gateway({ PUBLIC_PATHS: '/public' })
  const res = await ask(app, '/auth/verify', { headers: { 'x-forwarded-uri': '/public/rates', 'x-forwarded-method': 'GET', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example', 'x-forwarded-for': '203.0.113.9' } })
  t.equal(res.status, 200)
})

t.test('public paths match whole segments and ignore the query string', async (t) => {
  const { app } = await gateway({ PUBLIC_PATHS: '/public' })
  const status = async (uri: string): Promise<number> => (await ask(app, '/auth/verify', { headers: { 'x-original-uri': uri } })).status
  t.equal(await status('/public/x?next=/private'), 200)
  t.equal(await status('/publicity'), 401)
  t.equal(await status('/private?x=/public'), 401)
  t.equal(await status('//public/x'), 400, '//public is not normal: refused, never public')
})

t.test('access rules apply to the original method and path', async (t) => {
  const { app } = await gateway({ ACCESS_RULES_FILE: RULES })
  const reader = sign({ claims: { scope: 'payments:read' } })
  const writer = sign({ claims: { scope: 'payments:write' } })
  t.equal((await ask(app, '/auth/verify', { token: reader, headers: { 'x-forwarded-uri': '/payments/77', 'x-forwarded-method': 'GET' } })).status, 200, 'the rule is for POST only')
  t.equal((await ask(app, '/auth/verify', { token: writer, headers: { 'x-original-uri': '/payments/77', 'x-original-method': 'POST' } })).status, 200)
  const auditor = sign({ claims: { roles: ['auditor'] } })
  t.equal((await ask(app, '/auth/verify', { token: auditor, headers: { 'x-original-uri': '/admin/report' } })).status, 200, 'any one listed role')
  t.equal((await ask(app, '/auth/verify', { token: reader, headers: { 'x-original-uri': '/admin/report' } })).status, 403, 'a reader is not an auditor')
})

t.test('access rules ignore letter case: /ADMIN is /admin to a case-insensitive upstream', async (t) => {
  const { app } = await gateway({ ACCESS_RULES_FILE: RULES })
  const reader = sign({ claims: { scope: 'payments:read' } })
  for (const uri of ['/ADMIN/report', '/Admin', '/PAYMENTS/1']) {
    const res = await ask(app, '/auth/verify', { token: reader, headers: { 'x-original-uri': uri, 'x-original-method': 'POST' } })
    t.equal(res.status, 403, uri)
  }
})

t.test('dot segments and encoded separators in the original URI: 400', async (t) => {
  const { app } = await gateway({ PUBLIC_PATHS: '/public' })
  for (const uri of ['/public/../admin', '/public/%2e%2e/admin', '/public%2fadmin', '/public/..%2fadmin', '/public\\..\\admin', '/public/..;/admin']) {
    const res = await ask(app, '/auth/verify', { headers: { 'x-original-uri': uri } })
    t.equal(res.status, 400, uri)
    t.equal(res.body.error, 'invalid_request')
  }
})

t.test('a client header passed through by the proxy cannot override the other convention: conflicts are 400', async (t) => {
  // nginx passes a client's own X-Forwarded-Uri to the auth request unless it is cleared.
  const { app } = await gateway({ PUBLIC_PATHS: '/public' })
  const conflict = await ask(app, '/auth/verify', { headers: { 'x-original-uri': '/private', 'x-forwarded-uri': '/public/x' } })
  t.equal(conflict.status, 400)
  t.equal(conflict.body.error, 'invalid_request')
  const method = await ask(app, '/auth/verify', { token: sign(), headers: { 'x-original-uri': '/x', 'x-original-method': 'POST', 'x-forwarded-method': 'GET' } })
  t.equal(method.status, 400, 'conflicting methods')
  const agreeing = await ask(app, '/auth/verify', { headers: { 'x-original-uri': '/public/x', 'x-forwarded-uri': '/public/x' } })
  t.equal(agreeing.status, 200, 'both conventions agreeing is fine')
})

t.test('a repeated original-URI header or one that is not a path: 400', async (t) => {
  const gw = await startGateway(t, { PUBLIC_PATHS: '/public' })
  const repeated = await rawRequest(gw.url, buildRequest('GET', '/auth/verify', [['X-Original-URI', '/public/x'], ['X-Original-URI', '/private']]))
  t.equal(repeated.status, 400)
  const absolute = await call(`${gw.url}/auth/verify`, { headers: { 'x-original-uri': 'http://evil.example/public' } })
  t.equal(absolute.status, 400)
  const methods = await rawRequest(gw.url, buildRequest('GET', '/auth/verify', [['Authorization', `Bearer ${sign()}`], ['X-Original-URI', '/x'], ['X-Original-Method', 'GET'], ['X-Original-Method', 'POST']]))
  t.equal(methods.status, 400, 'repeated method')
})

t.test('forwarded headers are believed from a TRUSTED_PROXIES peer only: from any other, no path becomes public', async (t) => {
  // Its own gateway: the warning is counted per gateway.
  const { app, logs } = await buildGateway(t, { PUBLIC_PATHS: '/public', TRUSTED_PROXIES: '10.1.2.3' })
  for (const headers of [{ 'x-original-uri': '/public/x' }, { 'x-forwarded-uri': '/public/x', 'x-forwarded-method': 'GET' }] as Array<Record<string, string>>) {
    t.equal((await ask(app, '/auth/verify', { headers, remoteAddress: '10.1.2.3' })).status, 200, 'from the trusted proxy')
    for (const remoteAddress of ['10.1.2.4', '127.0.0.1']) {
      const res = await ask(app, '/auth/verify', { headers, remoteAddress })
      t.equal(res.status, 401, `from ${remoteAddress}`)
      t.equal(res.headers.get('www-authenticate'), 'Bearer realm="tokengate"')
    }
  }
  const warnings = logs.filter((line) => line.includes('outside TRUSTED_PROXIES'))
  t.equal(warnings.length, 1, 'the operator is told once')
  t.notMatch(warnings[0], '/public/x', 'without the header value')
})

t.test('the route is exactly AUTH_PREFIX/verify, with or without a query string; neighbours go to the router', async (t) => {
  const { app } = await gateway({ AUTH_PREFIX: '/api/auth' })
  const token = sign()
  t.equal((await ask(app, '/api/auth/verify', { token })).status, 200)
  t.equal((await ask(app, '/api/auth/verify?rd=%2Fhome', { token })).status, 200, 'query ignored')
  for (const path of ['/api/auth/verifyx', '/api/auth/verify/', '/api/auth/VERIFY', '/auth/verify']) {
    const res = await ask(app, path, { token })
    t.equal(res.status, 404, path)
    t.equal(res.body.error, 'not_found', `${path}: our error body`)
  }
})

t.test('every answer keeps nginx\'s keep-alive connection: an explicit length, never a chunked body', async (t) => {
  const gw = await startGateway(t)
  const answers = [
    await rawRequest(gw.url, buildRequest('GET', '/auth/verify', [['Authorization', `Bearer ${sign()}`]])),
    await rawRequest(gw.url, buildRequest('GET', '/auth/verify', [])),
    await rawRequest(gw.url, buildRequest('GET', '/auth/verify', [['Authorization', 'Basic abc']]))
  ]
  t.same(answers.map((a) => a.status), [200, 401, 400])
  for (const answer of answers) {
    t.match(answer.head, /\r\ncontent-length: \d+\r\n/i)
    t.notMatch(answer.head, /transfer-encoding/i)
    t.equal(Number(/content-length: (\d+)/i.exec(answer.head)?.[1]), Buffer.byteLength(answer.body))
  }
})

t.test('a body sent to the forward-auth route is ignored, and the connection serves the next request', async (t) => {
  const gw = await startGateway(t)
  const token = sign()
  const bodies = [Buffer.alloc(256 * 1024, 97), '{"__proto__":{"admin":true}}']
  for (const body of bodies) {
    const res = await fetch(`${gw.url}/auth/verify`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body })
    t.equal(res.status, 200)
  }
  t.equal((await call(`${gw.url}/auth/verify`, { token })).status, 200)
})
