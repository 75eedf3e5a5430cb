import fc from 'fast-check'
import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { basic, call } from '../helpers/http.js'
import { sign } from '../helpers/tokens.js'
import { startUpstream } from '../helpers/upstream.js'
import { buildRequest, rawRequest } from '../helpers/raw-http.js'
import { tempFile } from '../helpers/temp-dir.js'

const CLIENT_SECRET = 'fuzz-client-secret-of-32-bytes-or-more'
const RUNS = Number(process.env.FUZZ_RUNS ?? 400)

const rules = tempFile(t, 'rules.json', JSON.stringify([{ method: 'POST', path: '/payments', scopes: ['payments:write'] }]))

const ROUTES = ['/auth/verify', '/auth/logout', '/auth/refresh', '/auth/revoke', '/auth/token/validate',
  '/oauth/introspect', '/oauth/revoke', '/admin/revoke-all', '/admin/tokens/revoke', '/admin/users/u1/revoke',
  '/admin/blacklist/status', '/healthz', '/readyz', '/public', '/payments', '/accounts', '/']

// Pieces that make paths interesting to a router and to a smuggler.
const pathPiece = fc.oneof(
  fc.constantFrom('/', '.', '..', '%2e', '%2E%2e', '%2f', '%5c', '\\', '%00', '%ff', '%zz', '//', ';', '?', '#', '?a=%zz', '&', '%', 'é', '\u00ff', '*', '~'),
  fc.stringMatching(/^[a-zA-Z0-9_-]{1,8}$/)
)
const target = fc.tuple(fc.constantFrom(...ROUTES), fc.array(pathPiece, { maxLength: 6 }))
  .map(([route, pieces]) => route + pieces.join(''))

// Header values: any byte except the ones that end a header line.
const headerBytes = fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes.filter((b) => b !== 10 && b !== 13 && b !== 0)))

const now = Math.floor(Date.now() / 1000)
const authorization = fc.oneof(
  fc.constant(`Bearer ${sign({ claims: { roles: ['admin'], scope: 'payments:write' } })}`),
  fc.constant(`Bearer ${sign({ claims: { exp: now - 3600 } })}`),
  fc.constant(`Bearer ${sign({ key: 'forged-secret-forged-secret-forged-secret' })}`),
  fc.constant(`Bearer ${sign({ claims: { token_type: 'refresh' } })}`),
  fc.constant(basic('client', CLIENT_SECRET)),
  fc.string({ maxLength: 40 }).map((s) => `Bearer ${s}`),
  fc.string({ maxLength: 40 }).map((s) => `Bearer ${Buffer.from(s).toString('base64url')}.${s}.x`),
  headerBytes
)

const headerName = fc.oneof(
  fc.constantFrom('x-original-uri', 'x-original-method', 'x-forwarded-uri', 'x-forwarded-method', 'x-forwarded-for',
    'x-forwarded-host', 'x-user-id', 'x-user-roles', 'cookie', 'accept', 'content-encoding', 'expect', 'upgrade',
    'connection', 'te', 'x-request-id', 'range', 'if-none-match'),
  fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9-]{0,15}$/)
)

const contentType = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/x-www-form-urlencoded',
  'text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/octet-stream', '', ';;', 'application/json; charset=latin1')

const jsonBody = fc.oneof(
  fc.json({ maxDepth: 3 }),
  fc.constantFrom('{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}', '{"token":null}',
    '{"refresh_token":["a"]}', '{"reason":""}', '{"reason":{"toString":1}}', '[]', 'null', '"x"', '1e999', '{')
)
const body = fc.option(fc.oneof(jsonBody.map((s) => Buffer.from(s)), fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 16 })).map((d) => Buffer.from(new URLSearchParams(d).toString()))), { nil: undefined })

const request = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'PROPFIND'),
  target,
  authorization: fc.option(authorization, { nil: undefined }),
  contentType: fc.option(contentType, { nil: undefined }),
  headers: fc.array(fc.tuple(headerName, headerBytes), { maxLength: 5 }),
  body
})

t.test('random methods, paths, headers, tokens and bodies never get a 5xx and never stop the gateway', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, {
    UPSTREAM_URL: upstream.url,
    PUBLIC_PATHS: '/public',
    ACCESS_RULES_FILE: rules,
    INTROSPECTION_CLIENTS: `client:${CLIENT_SECRET}`,
    RATE_LIMIT_LOGOUT_PER_MIN: '0',
    RATE_LIMIT_REVOKE_PER_MIN: '0',
    RATE_LIMIT_ADMIN_PER_MIN: '0',
    RATE_LIMIT_UNAUTHENTICATED_PER_MIN: '0',
    RATE_LIMIT_REFRESH_PER_ADDRESS_PER_MIN: '0',
    RATE_LIMIT_CLIENT_AUTH_FAILURES_PER_MIN: '0',
    LOG_LEVEL: 'warn'
  })
  let checked = 0
  await fc.assert(fc.asyncProperty(request, async (r) => {
    const headers: Array<[string, string | Buffer]> = []
    if (r.authorization !== undefined) headers.push(['Authorization', r.authorization])
    if (r.contentType !== undefined) headers.push(['Content-Type', r.contentType])
    for (const [name, value] of r.headers) if (name.toLowerCase() !== 'content-length' && name.toLowerCase() !== 'host' && name.toLowerCase() !== 'transfer-encoding') headers.push([name, value])
    const res = await rawRequest(gw.url, buildRequest(r.method, r.target, headers, r.body))
    checked++
    if (!(res.status >= 100 && res.status < 500)) throw new Error(`${r.method} ${r.target} -> ${res.status}: ${res.body.slice(0, 200)}`)
    if (/\bat .+:\d+:\d+/.test(res.body)) throw new Error(`${r.method} ${r.target}: stack trace in the body`)
  }), { numRuns: RUNS })

  t.equal(checked, RUNS, `${RUNS} random requests, none answered 5xx or left unanswered`)
  t.equal((await call(`${gw.url}/healthz`)).status, 200, 'the gateway still serves')
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched')
  t.notOk(gw.logs.some((line) => line.includes('"level":50')), 'no error was logged')
})

// Item 8: a body that is not an object never reaches a handler (a JSON `null` on /auth/refresh was a 500).
t.test('every route body is validated by its schema: null, arrays, numbers, strings and booleans are 400 invalid_request', async (t) => {
  const gw = await startGateway(t, {
    INTROSPECTION_CLIENTS: `client:${CLIENT_SECRET}`,
    RATE_LIMIT_LOGOUT_PER_MIN: '0',
    RATE_LIMIT_REVOKE_PER_MIN: '0',
    RATE_LIMIT_ADMIN_PER_MIN: '0'
  })
  const bearer = { authorization: `Bearer ${sign({ claims: { roles: ['admin'] } })}` }
  const client = { authorization: basic('client', CLIENT_SECRET) }
  const routes: Array<[string, Record<string, string>]> = [
    ['/auth/logout', bearer], ['/auth/refresh', {}], ['/auth/revoke', bearer],
    ['/oauth/introspect', client], ['/oauth/revoke', client],
    ['/admin/users/u1/revoke', bearer], ['/admin/revoke-all', bearer], ['/admin/tokens/revoke', bearer]
  ]
  for (const [path, headers] of routes) {
    for (const shape of ['null', '[]', '[{"token":"x"}]', '1', '-0.5', '"refresh_token"', 'true']) {
      const res = await call(`${gw.url}${path}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: shape })
      t.equal(res.status, 400, `${path} ${shape}`)
      t.equal(res.body?.error, 'invalid_request', `${path} ${shape}: OAuth error body`)
      t.type(res.body?.error_description, 'string')
    }
  }
  // Form bodies (RFC 7662/7009 clients send forms): a repeated or empty parameter is not a token.
  for (const path of ['/oauth/introspect', '/oauth/revoke', '/auth/refresh']) {
    const name = path === '/auth/refresh' ? 'refresh_token' : 'token'
    for (const form of [`${name}=a&${name}=b`, `${name}=`, 'other=1']) {
      const res = await call(`${gw.url}${path}`, { method: 'POST', headers: { ...client, 'content-type': 'application/x-www-form-urlencoded' }, body: form })
      t.equal(res.status, 400, `${path} form ${form}`)
      t.equal(res.body?.error, 'invalid_request', `${path} form ${form}`)
    }
  }
  t.equal((await call(`${gw.url}/auth/logout`, { method: 'POST', headers: bearer })).status, 200, 'a request without a body is still fine')
  t.notOk(gw.logs.some((line) => line.includes('"level":50')), 'no error was logged')
})
