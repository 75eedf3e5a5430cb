import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { sign } from '../helpers/tokens.js'

function rulesFile (rules: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'tg-rules-')), 'rules.json')
  writeFileSync(file, JSON.stringify(rules))
  return file
}

const RULES = rulesFile([
  { method: 'POST', path: '/payments', scopes: ['payments:write'] },
  { method: '*', path: '/admin', roles: ['admin', 'auditor'] }
])

t.test('an allow is an empty 200 carrying the identity headers', async (t) => {
  const gw = await startGateway(t)
  const token = sign({ claims: { sub: 'alice', jti: 'jti-1', scope: 'read write', roles: ['teller', 'admin'] } })
  const res = await fetch(`${gw.url}/auth/verify`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(res.status, 200)
  t.equal(res.headers.get('x-user-id'), 'alice')
  t.equal(res.headers.get('x-token-jti'), 'jti-1')
  t.equal(res.headers.get('x-token-scope'), 'read write')
  t.equal(res.headers.get('x-user-roles'), 'teller,admin')
  t.equal(res.headers.get('content-length'), '0')
  t.equal(await res.text(), '')
})

t.test('any method is answered (nginx may forward the original one)', async (t) => {
  const gw = await startGateway(t)
  for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD']) {
    t.equal((await call(`${gw.url}/auth/verify`, { method, token: sign() })).status, 200, method)
  }
})

t.test('RFC 6750 challenges and bodies that never echo the token', async (t) => {
  const gw = await startGateway(t)
  const missing = await call(`${gw.url}/auth/verify`)
  t.equal(missing.status, 401)
  t.equal(missing.headers.get('www-authenticate'), 'Bearer realm="tokengate"', 'no error code without credentials')
  t.same(Object.keys(missing.body).sort(), ['error', 'error_description'])

  const forged = sign({ key: 'forged-secret-forged-secret-forged-secret' })
  const invalid = await call(`${gw.url}/auth/verify`, { token: forged })
  t.equal(invalid.status, 401)
  t.match(invalid.headers.get('www-authenticate'), /^Bearer realm="tokengate", error="invalid_token", error_description="/)
  t.equal(invalid.body.error, 'invalid_token')
  t.notMatch(invalid.text, forged.split('.')[1])
  t.equal(invalid.headers.get('cache-control'), 'no-store')

  const malformed = await call(`${gw.url}/auth/verify`, { headers: { authorization: 'Bearer not a token' } })
  t.equal(malformed.status, 400)
  t.equal(malformed.body.error, 'invalid_request')
})

t.test('nginx X-Original-* and Traefik X-Forwarded-* from a trusted proxy apply public paths and rules', async (t) => {
  const gw = await startGateway(t, { PUBLIC_PATHS: '/public', ACCESS_RULES_FILE: RULES })
  const reader = sign({ claims: { scope: 'payments:read' } })
  const writer = sign({ claims: { scope: 'payments:write' } })

  t.equal((await call(`${gw.url}/auth/verify`, { headers: { 'x-original-uri': '/public/rates?ccy=EUR', 'x-original-method': 'GET' } })).status, 200, 'public via nginx headers')
  t.equal((await call(`${gw.url}/auth/verify`, { headers: { 'x-forwarded-uri': '/public/rates', 'x-forwarded-method': 'GET', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example', 'x-forwarded-for': '203.0.113.9' } })).status, 200, 'public via Traefik headers')

  const denied = await call(`${gw.url}/auth/verify`, { token: reader, headers: { 'x-forwarded-uri': '/payments/77', 'x-forwarded-method': 'POST' } })
  t.equal(denied.status, 403)
  t.equal(denied.body.error, 'insufficient_scope')
  t.match(denied.headers.get('www-authenticate'), /error="insufficient_scope", scope="payments:write"/)
  t.equal((await call(`${gw.url}/auth/verify`, { token: reader, headers: { 'x-forwarded-uri': '/payments/77', 'x-forwarded-method': 'GET' } })).status, 200, 'the rule is for POST only')
  t.equal((await call(`${gw.url}/auth/verify`, { token: writer, headers: { 'x-original-uri': '/payments/77', 'x-original-method': 'POST' } })).status, 200)

  const auditor = sign({ claims: { roles: ['auditor'] } })
  t.equal((await call(`${gw.url}/auth/verify`, { token: auditor, headers: { 'x-original-uri': '/admin/report' } })).status, 200, 'any one listed role')
  t.equal((await call(`${gw.url}/auth/verify`, { token: reader, headers: { 'x-original-uri': '//admin/report' } })).status, 403, '//admin is /admin for rules')
  t.equal((await call(`${gw.url}/auth/verify`, { headers: { 'x-original-uri': '/public/../admin' } })).status, 400, 'dot segments are refused')
})

t.test('from an untrusted peer the forwarded headers are ignored: no path becomes public', async (t) => {
  const gw = await startGateway(t, { PUBLIC_PATHS: '/public', TRUSTED_PROXIES: '10.1.2.3' })
  const res = await call(`${gw.url}/auth/verify`, { headers: { 'x-original-uri': '/public/x', 'x-forwarded-uri': '/public/x' } })
  t.equal(res.status, 401)
})
