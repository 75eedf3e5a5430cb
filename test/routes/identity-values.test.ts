import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { sign, signRaw } from '../helpers/tokens.js'
import { startUpstream } from '../helpers/upstream.js'
import { buildRequest, rawRequest } from '../server/raw.js'

// Issue 11 item 3: identity values are unambiguous, and the request id is
// tokengate's own or a trusted proxy's, in both modes.
const UNTRUSTED = { TRUSTED_PROXIES: '10.9.9.9' }

/** The identity headers each mode hands on for one token: forward-auth's answer, the proxied request's headers. */
async function identities (t: Test, claims: Record<string, unknown>): Promise<Array<Record<string, string | null>>> {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url })
  const token = sign({ claims })
  const answer = await fetch(`${gw.url}/auth/verify`, { headers: { authorization: `Bearer ${token}` } })
  const proxied = await call(`${gw.url}/x`, { token })
  const pick = (get: (name: string) => string | null): Record<string, string | null> =>
    Object.fromEntries(['x-user-id', 'x-token-jti', 'x-token-scope', 'x-user-roles'].map((name) => [name, get(name)]))
  return [pick((name) => answer.headers.get(name)), pick((name) => proxied.body.headers[name] ?? null)]
}

t.test('two different subjects never produce the same X-User-Id: % is encoded too (both modes)', async (t) => {
  for (const mode of [0, 1]) {
    const plain = (await identities(t, { sub: 'josé' }))[mode]['x-user-id']
    const lookalike = (await identities(t, { sub: 'jos%C3%A9' }))[mode]['x-user-id']
    t.equal(plain, 'jos%C3%A9')
    t.equal(lookalike, 'jos%25C3%25A9')
    t.equal(decodeURIComponent(lookalike ?? ''), 'jos%C3%A9', 'one decoding gives the subject back')
  }
})

t.test('a role containing a comma stays one role in X-User-Roles; scopes and ordinary values stay readable', async (t) => {
  const [answer, proxied] = await identities(t, { sub: 'alice@example.com', jti: 'j-1', scope: 'payments:write urn:x/y', roles: ['a,b', 'teller', 'ünï'] })
  for (const headers of [answer, proxied]) {
    t.equal(headers['x-user-roles'], 'a%2Cb,teller,%C3%BCn%C3%AF')
    t.same(headers['x-user-roles']?.split(',').map(decodeURIComponent), ['a,b', 'teller', 'ünï'])
    t.equal(headers['x-user-id'], 'alice@example.com', ': @ / are kept as they are')
    t.equal(headers['x-token-scope'], 'payments:write urn:x/y')
  }
})

t.test('a subject that cannot be encoded (a lone surrogate) is refused, not answered 500', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url })
  const now = Math.floor(Date.now() / 1000)
  const token = signRaw({ sub: '\ud800x', jti: 'j-lone', iat: now, exp: now + 60 })
  t.equal((await fetch(`${gw.url}/auth/verify`, { headers: { authorization: `Bearer ${token}` } })).status, 401)
  t.equal((await call(`${gw.url}/x`, { token })).status, 401)
  t.equal(upstream.seen.length, 0)
})

t.test('forward-auth refuses identity and forwarding headers spelled with underscores (the proxy would pass them on)', async (t) => {
  const gw = await startGateway(t)
  for (const name of ['X_User_Id', 'x_user-roles', 'X-Token_Scope', 'X_Forwarded_For', 'X_Real_IP']) {
    const res = await rawRequest(gw.url, buildRequest('GET', '/auth/verify', [['Authorization', `Bearer ${sign()}`], [name, 'forged']]))
    t.equal(res.status, 400, name)
    t.equal(JSON.parse(res.body).error, 'invalid_request', name)
  }
  const plain = await rawRequest(gw.url, buildRequest('GET', '/auth/verify', [['Authorization', `Bearer ${sign()}`], ['X-User-Id', 'forged']]))
  t.equal(plain.status, 200, 'the hyphen spelling is overwritten by nginx and Traefik from the answer')
})

t.test('audit records carry tokengate\'s request id, not one a client chose; a trusted proxy\'s is kept', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-reqid-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const untrusted = await startGateway(t, { AUDIT_LOG_FILE: join(dir, 'untrusted.log'), ...UNTRUSTED })
  await call(`${untrusted.url}/auth/logout`, { method: 'POST', token: sign(), headers: { 'x-request-id': 'chosen-by-client' } })
  await untrusted.app.close()
  const trusted = await startGateway(t, { AUDIT_LOG_FILE: join(dir, 'trusted.log') })
  await call(`${trusted.url}/auth/logout`, { method: 'POST', token: sign(), headers: { 'x-request-id': 'ingress-7f3a' } })
  await trusted.app.close()
  const record = (file: string): { request_id: string } => JSON.parse(readFileSync(join(dir, file), 'utf8').trim().split('\n')[0])
  t.not(record('untrusted.log').request_id, 'chosen-by-client')
  t.match(record('untrusted.log').request_id, /^[\w-]+-[0-9a-z]+$/)
  t.equal(record('trusted.log').request_id, 'ingress-7f3a')
})

t.test('a client\'s own X-Request-Id is logged apart, as clientRequestId', async (t) => {
  const gw = await startGateway(t, { LOG_LEVEL: 'debug', ...UNTRUSTED })
  await call(`${gw.url}/auth/refresh`, { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain', 'x-request-id': 'chosen-by-client' } })
  const line = gw.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'request refused')
  t.ok(line, 'the refusal was logged')
  t.not(line.reqId, 'chosen-by-client')
  t.equal(line.clientRequestId, 'chosen-by-client')
})
