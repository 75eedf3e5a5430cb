import t from 'tap'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { sign } from '../helpers/tokens.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { buildRequest, rawRequest } from '../helpers/raw-http.js'

const NO_RATE_LIMITS = { RATE_LIMIT_LOGOUT_PER_MIN: '0', RATE_LIMIT_REVOKE_PER_MIN: '0', RATE_LIMIT_ADMIN_PER_MIN: '0', RATE_LIMIT_UNAUTHENTICATED_PER_MIN: '0', RATE_LIMIT_REFRESH_PER_MIN: '0', RATE_LIMIT_REFRESH_PER_ADDRESS_PER_MIN: '0', RATE_LIMIT_CLIENT_AUTH_FAILURES_PER_MIN: '0' }
const STACK = /\bat .+:\d+:\d+|"stack"|Error:/

/** Every route that reads a body, with what it takes to get past authentication to the parser. */
const BODY_ROUTES = ['/auth/logout', '/auth/refresh', '/auth/revoke', '/oauth/introspect', '/oauth/revoke',
  '/admin/revoke-all', '/admin/tokens/revoke', '/admin/users/u1/revoke']

async function gatewayWithUpstream (t: { teardown: (fn: () => unknown) => void }, env: Record<string, string> = {}): Promise<{ gw: Gateway, upstream: Upstream }> {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url, PUBLIC_PATHS: '/public', INTROSPECTION_CLIENTS: 'client:secret-secret-secret-secret-secret', ...NO_RATE_LIMITS, ...env })
  return { gw, upstream }
}

const adminToken = (): string => sign({ claims: { roles: ['admin'] } })

t.test('prototype-pollution payloads are refused with 400 on every JSON route and pollute nothing', async (t) => {
  const { gw } = await gatewayWithUpstream(t)
  const payloads = ['{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}',
    '{"token":"x","__proto__":{"isAdmin":true}}', '{"reason":"r","nested":{"__proto__":{"polluted":1}}}']
  for (const route of BODY_ROUTES) {
    for (const body of payloads) {
      const res = await call(`${gw.url}${route}`, { method: 'POST', body, headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken()}` } })
      t.equal(res.status, 400, `${route} ${body}`)
      t.equal(res.body?.error, 'invalid_request')
    }
  }
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched')
  t.equal(({} as Record<string, unknown>).isAdmin, undefined)
})

t.test('form bodies with __proto__ keys pollute nothing', async (t) => {
  const { gw } = await gatewayWithUpstream(t)
  for (const route of BODY_ROUTES) {
    const res = await call(`${gw.url}${route}`, { method: 'POST', token: adminToken(), body: '__proto__[polluted]=1&constructor[prototype][polluted]=1&__proto__=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    t.ok(res.status < 500, `${route} -> ${res.status}`)
  }
  t.equal(({} as Record<string, unknown>).polluted, undefined)
})

t.test('a content type other than JSON or a form is a 415 on every body route', async (t) => {
  const { gw } = await gatewayWithUpstream(t)
  for (const route of BODY_ROUTES) {
    for (const type of ['text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/octet-stream']) {
      const res = await call(`${gw.url}${route}`, { method: 'POST', token: adminToken(), body: 'x', headers: { 'content-type': type } })
      t.equal(res.status, 415, `${route} ${type}`)
      t.equal(res.body.error, 'invalid_request')
    }
  }
})

t.test('forward-auth ignores the body and its content type (nginx passes the original Content-Type)', async (t) => {
  const { gw } = await gatewayWithUpstream(t)
  const token = sign()
  for (const type of ['application/xml', 'multipart/form-data; boundary=x', 'application/json']) {
    const res = await rawRequest(gw.url, buildRequest('POST', '/auth/verify', [['Authorization', `Bearer ${token}`], ['Content-Type', type], ['X-Original-URI', '/accounts']]))
    t.equal(res.status, 200, `${type} without a body`)
    const withBody = await call(`${gw.url}/auth/verify`, { method: 'POST', token, body: '{not json', headers: { 'content-type': type, 'x-original-uri': '/accounts' } })
    t.equal(withBody.status, 200, `${type} with a body`)
  }
})

t.test('a body over BODY_LIMIT_BYTES is a 413', async (t) => {
  const { gw } = await gatewayWithUpstream(t, { BODY_LIMIT_BYTES: '2048' })
  for (const route of BODY_ROUTES) {
    const res = await call(`${gw.url}${route}`, { method: 'POST', token: adminToken(), json: { reason: 'x'.repeat(4096) } })
    t.equal(res.status, 413, route)
    t.equal(res.body.error, 'invalid_request')
  }
})

t.test('an oversized token is a 400 and oversized headers a 431, both in our error format', async (t) => {
  const { gw, upstream } = await gatewayWithUpstream(t)
  const huge = 'a'.repeat(10_000) + '.b.c'
  for (const path of ['/auth/verify', '/accounts', '/auth/token/validate']) {
    const res = await call(`${gw.url}${path}`, { token: huge, headers: { 'x-original-uri': '/accounts' } })
    t.equal(res.status, 400, path)
    t.match(res.body.error_description, /too large/, path)
    t.equal(res.body.error, 'invalid_request')
  }
  const overflow = await rawRequest(gw.url, buildRequest('GET', '/accounts', [['X-Filler', 'z'.repeat(20_000)]]))
  t.equal(overflow.status, 431)
  t.same(JSON.parse(overflow.body), { error: 'invalid_request', error_description: 'The request headers are too large' })
  t.equal(upstream.seen.length, 0)
})

t.test('bytes that are not UTF-8 in headers, paths and bodies are answered 4xx, never 5xx', async (t) => {
  const { gw, upstream } = await gatewayWithUpstream(t)
  const junk = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x82])
  const token = sign()
  const cases: Array<[string, Buffer]> = [
    ['authorization header', buildRequest('GET', '/auth/verify', [['Authorization', Buffer.concat([Buffer.from('Bearer '), junk])]])],
    ['forwarded uri', buildRequest('GET', '/auth/verify', [['X-Original-URI', Buffer.concat([Buffer.from('/'), junk])], ['Authorization', `Bearer ${token}`]])],
    ['identity header on a proxied path', buildRequest('GET', '/accounts', [['X-User-Id', junk], ['Authorization', `Bearer ${token}`]])],
    ['raw bytes in the path', buildRequest('GET', Buffer.concat([Buffer.from('/accounts/'), junk]).toString('latin1'), [['Authorization', `Bearer ${token}`]])],
    ['bad escapes in the path', buildRequest('GET', '/accounts/%ff%fe%zz', [['Authorization', `Bearer ${token}`]])],
    ['bad escapes in the query', buildRequest('GET', '/accounts?q=%zz&r=%ff', [['Authorization', `Bearer ${token}`]])],
    ['bad escapes in a public query', buildRequest('GET', '/public?%zz', [])],
    ['JSON body', buildRequest('POST', '/auth/logout', [['Authorization', `Bearer ${token}`], ['Content-Type', 'application/json']], Buffer.concat([Buffer.from('{"refresh_token":"'), junk, Buffer.from('"}')]))],
    ['form body', buildRequest('POST', '/auth/refresh', [['Content-Type', 'application/x-www-form-urlencoded']], Buffer.concat([Buffer.from('refresh_token='), junk, Buffer.from('%ff%zz')]))]
  ]
  for (const [name, bytes] of cases) {
    const res = await rawRequest(gw.url, bytes)
    t.ok(res.status >= 200 && res.status < 500, `${name} -> ${res.status}`)
    t.notMatch(res.body, STACK, `${name}: no stack trace`)
  }
  t.ok(upstream.seen.every((r) => r.url.startsWith('/accounts') || r.url.startsWith('/public')), 'only the proxied paths reached the upstream')
})

t.test('an absolute-form request target cannot redirect the proxy to another host', async (t) => {
  const { gw, upstream } = await gatewayWithUpstream(t)
  for (const target of ['http://evil.example/x', 'http://evil.example/public/x', '//evil.example/x']) {
    const res = await rawRequest(gw.url, buildRequest('GET', target, [['Authorization', `Bearer ${sign()}`]]))
    t.ok(res.status === 200 || (res.status >= 400 && res.status < 500), `${target} -> ${res.status}`)
  }
  t.ok(upstream.seen.every((r) => r.headers.host === new URL(upstream.url).host), 'anything proxied went to UPSTREAM_URL')
})

t.test('a client trickling its request head is cut off after HEADERS_TIMEOUT_MS with a 408', async (t) => {
  const { gw, upstream } = await gatewayWithUpstream(t, { HEADERS_TIMEOUT_MS: '400' })
  const trickle = { chunks: Array.from({ length: 100 }, (_, i) => `X-Slow-${i}: 1\r\n`), everyMs: 50 }
  const res = await rawRequest(gw.url, 'GET /public/x HTTP/1.1\r\nHost: gateway\r\n', trickle)
  t.equal(res.status, 408)
  t.equal(JSON.parse(res.body).error, 'invalid_request')
  t.ok(res.closedAfterMs < 2500, `closed after ${res.closedAfterMs} ms`)
  t.equal(upstream.seen.length, 0)
})

t.test('a client trickling its body is cut off after REQUEST_TIMEOUT_MS', async (t) => {
  const { gw } = await gatewayWithUpstream(t, { REQUEST_TIMEOUT_MS: '600', HEADERS_TIMEOUT_MS: '300' })
  const head = `POST /auth/logout HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer ${sign()}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`
  const res = await rawRequest(gw.url, head, { chunks: Array.from({ length: 200 }, () => ' '), everyMs: 50 })
  t.ok(res.status === 408 || res.status === 0, `answered ${res.status} and closed`)
  t.ok(res.closedAfterMs < 3000, `closed after ${res.closedAfterMs} ms`)
})

t.test('the timeouts do not cut a proxied response that streams for longer than them', async (t) => {
  const { gw, upstream } = await gatewayWithUpstream(t, { REQUEST_TIMEOUT_MS: '300', HEADERS_TIMEOUT_MS: '200' })
  upstream.handle((_req, res) => {
    let sent = 0
    const timer = setInterval(() => {
      res.write('chunk;')
      if (++sent === 12) { clearInterval(timer); res.end() }
    }, 100)
  })
  const res = await call(`${gw.url}/stream`, { token: sign() })
  t.equal(res.status, 200)
  t.equal(res.text, 'chunk;'.repeat(12), 'whole body after 1.2 s')
})

t.test('Fastify\'s own refusals use our error format and never echo the request', async (t) => {
  const { gw } = await gatewayWithUpstream(t)
  const res = await rawRequest(gw.url, buildRequest('GET', '/%c0%ae%ff<script>', []))
  t.equal(res.status, 400)
  t.same(JSON.parse(res.body), { error: 'invalid_request', error_description: 'The request is malformed' })
  const garbage = await rawRequest(gw.url, 'NOT-HTTP \u0001\r\n\r\n')
  t.equal(garbage.status, 400)
  t.equal(JSON.parse(garbage.body).error, 'invalid_request')
})
