import t from 'tap'
import fc from 'fast-check'
import { randomUUID } from 'node:crypto'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { call, type JsonResponse } from '../helpers/http.js'
import { fetchOverTls, testPki, type CertificateFiles } from '../helpers/certificates.js'
import { scrape, valueOf } from '../helpers/scrape.js'
import { keyPair, sign } from '../helpers/tokens.js'
import { until } from '../helpers/until.js'

// Issue 22: a sender-constrained token is useless without its key everywhere tokengate accepts
// one, not only at the access decision. RFC 8705 §3 on every route that acts for the bearer.
const pki = testPki(t)
const holder = pki.selfSigned('holder')
const stranger = pki.selfSigned('stranger')

interface Teardown { teardown: (fn: () => unknown) => void }

interface TokenRoute { readonly method: string, readonly path: string, readonly admin?: boolean }

/**
 * Every route that takes the access token of the Authorization header, in one list; the last
 * revokes every token. The first test fails when the app serves a route that is in neither list.
 */
const TOKEN_ROUTES: readonly TokenRoute[] = [
  { method: 'GET', path: '/auth/verify' },
  { method: 'GET', path: '/auth/token/validate' },
  { method: 'POST', path: '/auth/logout' },
  { method: 'POST', path: '/auth/revoke' },
  { method: 'POST', path: '/admin/users/u1/revoke', admin: true },
  { method: 'POST', path: '/admin/tokens/revoke', admin: true },
  { method: 'GET', path: '/admin/blacklist/status', admin: true },
  { method: 'GET', path: '/admin/health', admin: true },
  { method: 'POST', path: '/admin/cleanup', admin: true },
  { method: 'GET', path: '/admin/alerts', admin: true },
  { method: 'GET', path: '/admin/users/u1/activity', admin: true },
  { method: 'GET', path: '/admin/audit/summary', admin: true },
  { method: 'POST', path: '/admin/revoke-all', admin: true }
]

/** The app's other routes, and why no user's access token is held to its key there. */
const OTHER_ROUTES: Readonly<Record<string, string>> = {
  'POST /auth/refresh': 'the refresh token comes in the body: its own test below (RFC 8705 §4, RFC 9449 §5)',
  'POST /oauth/introspect': 'RFC 7662: the caller is a resource server; the answer carries cnf for it to check (RFC 8705 §3.2, RFC 9449 §6.2)',
  'POST /oauth/revoke': 'RFC 7009 §2.1: the caller authenticates as the client the token was issued to',
  'POST /auth/backchannel-logout': 'an identity provider\'s logout token (not served in this configuration)',
  'POST /auth/global-token-revocation': 'an identity provider\'s own bearer JWT (not served in this configuration)',
  'POST /auth/ssf/events': 'a transmitter\'s Security Event Token (not served in this configuration)',
  'GET /metrics': 'no token',
  'GET /healthz': 'no token',
  'GET /readyz': 'no token',
  'GET /.well-known/oauth-protected-resource': 'no token'
}

const ENV = {
  INTROSPECTION_CLIENTS: 'rs:introspection-secret-of-at-least-32-bytes',
  RESOURCE_URL: 'https://api.example/',
  METRICS_ON_MAIN_PORT: 'true',
  RATE_LIMIT_UNAUTHENTICATED_PER_MIN: '100000',
  RATE_LIMIT_ADMIN_PER_MIN: '100000',
  RATE_LIMIT_LOGOUT_PER_MIN: '100000',
  RATE_LIMIT_REVOKE_PER_MIN: '100000'
}

/** One request with a client certificate or none, over one of the two transports. */
type Send = (method: string, path: string, init: { token?: string, json?: unknown }, cert: CertificateFiles | null) => Promise<JsonResponse>

interface Started { readonly gateway: Gateway, readonly send: Send }

/** tokengate's own listener asking for a certificate (TLS_CLIENT_CERT=request, RFC 8705 §2.2). */
async function tlsGateway (t: Teardown, env: Record<string, string | undefined> = {}): Promise<Started> {
  const gateway = await startGateway(t, { ...ENV, TLS_CERT_FILE: pki.server.certFile, TLS_KEY_FILE: pki.server.keyFile, TLS_CLIENT_CERT: 'request', ...env })
  const base = gateway.url.replace('http:', 'https:')
  const send: Send = async (method, path, { token, json }, cert) => await fetchOverTls(`${base}${path}`, pki.ca, cert, {
    method,
    headers: { ...(token !== undefined && { authorization: `Bearer ${token}` }), ...(json !== undefined && { 'content-type': 'application/json' }) },
    ...(json !== undefined && { body: JSON.stringify(json) })
  })
  return { gateway, send }
}

/** A trusted proxy (loopback) that terminated TLS passes the certificate as RFC 9440 Client-Cert. */
async function proxiedGateway (t: Teardown, env: Record<string, string | undefined> = {}): Promise<Started> {
  const gateway = await startGateway(t, { ...ENV, CLIENT_CERT_HEADER: 'rfc9440', ...env })
  const send: Send = async (method, path, init, cert) =>
    await call(`${gateway.url}${path}`, { method, ...init, headers: cert === null ? {} : { 'client-cert': `:${cert.derBase64}:` } })
  return { gateway, send }
}

const TRANSPORTS = [['tokengate\'s own TLS listener', tlsGateway], ['a trusted proxy\'s Client-Cert', proxiedGateway]] as const

/** A token route asked with `token` in Authorization. */
async function ask ({ send }: Started, route: TokenRoute, token: string, cert: CertificateFiles | null): Promise<JsonResponse> {
  return await send(route.method, route.path, { token, ...(route.method === 'POST' && { json: { reason: 'drill', jti: 'j-1' } }) }, cert)
}

const bound = (route: TokenRoute, thumbprint: string): string =>
  sign({ claims: { sub: `user-${randomUUID()}`, sid: randomUUID(), cnf: { 'x5t#S256': thumbprint }, ...(route.admin === true && { roles: ['admin'] }) } })

t.test('every route the app serves is either held to the binding here or listed with the reason it is not', async (t) => {
  const { gateway } = await proxiedGateway(t)
  const served = gateway.app.printRoutes({ commonPrefix: false }).split('\n').flatMap((line) => {
    const match = /(\/\S*) \(([A-Z, ]+)\)/.exec(line)
    if (match === null) return []
    // HEAD is answered by the GET route's own handler and guard.
    return match[2].split(', ').filter((method) => method !== 'HEAD').map((method) => `${method} ${match[1]}`)
  })
  t.ok(served.length > 10, 'the routes were read')
  const listed = new Set(TOKEN_ROUTES.map(({ method, path }) => `${method} ${path.replace('/u1/', '/:id/')}`))
  for (const route of served) t.ok(listed.has(route) || route in OTHER_ROUTES, route)
})

for (const [transport, start] of TRANSPORTS) {
  t.test(`RFC 8705 §3 through ${transport}: a certificate-bound token acts on no route without its certificate`, async (t) => {
    const started = await start(t)
    const { gateway } = started
    for (const route of TOKEN_ROUTES) {
      const token = bound(route, holder.thumbprint)
      const name = `${route.method} ${route.path}`
      const none = await ask(started, route, token, null)
      t.equal(none.status, 401, `${name}: no certificate`)
      t.equal(none.body?.error, 'invalid_token', `${name}: RFC 6750 §3.1 invalid_token`)
      t.match(none.body?.error_description, /presented none/, name)
      const other = await ask(started, route, token, stranger)
      t.equal(other.status, 401, `${name}: another certificate`)
      t.match(other.body?.error_description, /another client certificate/, name)
      // Had a refusal acted (logged out, revoked), the holder's own call would now be refused.
      t.equal((await ask(started, route, token, holder)).status, 200, `${name}: the holder's certificate, and the refusals changed nothing`)
    }
    if (transport === 'a trusted proxy\'s Client-Cert') {
      const samples = await scrape(gateway.url)
      t.equal(valueOf(samples, 'tokengate_sender_constraint_failures_total', { binding: 'mtls', reason: 'certificate_missing' }), TOKEN_ROUTES.length, 'each refusal counted')
      t.equal(valueOf(samples, 'tokengate_sender_constraint_failures_total', { binding: 'mtls', reason: 'certificate_mismatch' }), TOKEN_ROUTES.length)
      t.ok(await until(async () => valueOf(await scrape(gateway.url), 'tokengate_security_alerts_total', { severity: 'HIGH', type: 'bound_token_without_certificate' }) >= 1),
        'a bound token without its certificate raised the HIGH alert on these routes as at the decision')
    }
  })
}

// Whatever the token's binding and the certificate presented, a token route answers as the decision does.
t.test('the token and admin routes and the decision agree on every binding and certificate (fast-check)', async (t) => {
  const { gateway } = await proxiedGateway(t)
  const answerOf = async (path: string, token: string, headers: Record<string, string>): Promise<string> => {
    const res = await call(`${gateway.url}${path}`, { token, headers })
    return `${res.status} ${res.body?.error_description ?? ''}`
  }
  const cnf = fc.constantFrom<Record<string, unknown> | undefined>(
    undefined, { 'x5t#S256': holder.thumbprint }, { 'x5t#S256': stranger.thumbprint }, { 'x5t#S256': 'not-a-thumbprint' }, { jkt: holder.thumbprint }, { jkt: holder.thumbprint, 'x5t#S256': holder.thumbprint })
  const presented = fc.constantFrom<Record<string, string>>(
    {}, { 'client-cert': `:${holder.derBase64}:` }, { 'client-cert': `:${stranger.derBase64}:` }, { 'client-cert': ':bm90IGEgY2VydGlmaWNhdGU=:' }, { 'client-cert': '::' })
  await fc.assert(fc.asyncProperty(cnf, presented, async (binding, headers) => {
    const token = sign({ claims: { sub: `user-${randomUUID()}`, roles: ['admin'], ...(binding !== undefined && { cnf: binding }) } })
    const decision = await answerOf('/auth/verify', token, headers)
    for (const path of ['/auth/token/validate', '/admin/health']) {
      const answer = await answerOf(path, token, headers)
      if (answer !== decision) throw new Error(`${path}: ${answer}; /auth/verify: ${decision}`)
    }
  }), { numRuns: 60 })
  t.pass('60 runs')
})

// FAPI 2.0 Security Profile: only sender-constrained access tokens (mTLS or DPoP).
t.test('SECURITY_PROFILE=fapi2: an unbound token is refused on every route; a bound one with its certificate passes', async (t) => {
  const ec = keyPair('ec')
  const fapi2 = { NODE_ENV: 'production', ALLOW_MEMORY_STORE: 'true', SECURITY_PROFILE: 'fapi2', JWT_SECRET: undefined, JWT_ALGORITHMS: 'ES256', JWT_PUBLIC_KEYS: ec.publicPem, JWT_PRIVATE_KEY: ec.privatePem }
  const started = await proxiedGateway(t, fapi2)
  const { gateway } = started
  const es256 = (route: TokenRoute, claims: Record<string, unknown>): string =>
    sign({ key: ec.privatePem, algorithm: 'ES256', claims: { sub: `user-${randomUUID()}`, ...(route.admin === true && { roles: ['admin'] }), ...claims } })
  const refresh = async (claims: Record<string, unknown>): Promise<number> => (await call(`${gateway.url}/auth/refresh`, {
    method: 'POST',
    json: { refresh_token: sign({ key: ec.privatePem, algorithm: 'ES256', claims: { sub: 'alice', sid: randomUUID(), token_type: 'refresh', ...claims } }) },
    headers: { 'client-cert': `:${holder.derBase64}:` }
  })).status
  t.equal(await refresh({}), 401, '/auth/refresh: an unbound refresh token would mint unbound access tokens')
  // Before the route list, whose last route revokes every token issued so far.
  t.equal(await refresh({ cnf: { 'x5t#S256': holder.thumbprint } }), 200, '/auth/refresh: a bound one, with its certificate')
  for (const route of TOKEN_ROUTES) {
    const name = `${route.method} ${route.path}`
    const unbound = await ask(started, route, es256(route, {}), holder)
    t.equal(unbound.status, 401, `${name}: a bearer token`)
    t.match(unbound.body?.error_description, /sender-constrained/, name)
    t.equal((await ask(started, route, es256(route, { cnf: { 'x5t#S256': holder.thumbprint } }), holder)).status, 200, `${name}: bound, with its certificate`)
  }
})

function payloadOf (token: string): Record<string, any> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString())
}

// RFC 8705 §4: a refresh token bound to the certificate is checked when presented; RFC 9700 §4.14.2 reuse.
for (const [transport, start] of TRANSPORTS) {
  t.test(`/auth/refresh through ${transport}: a certificate-bound refresh token is spent, or counts as reused, only with its certificate`, async (t) => {
    const { send } = await start(t)
    const refreshWith = async (token: string, cert: CertificateFiles | null): Promise<JsonResponse> => await send('POST', '/auth/refresh', { json: { refresh_token: token } }, cert)
    const validate = async (token: string): Promise<number> => (await send('GET', '/auth/token/validate', { token }, holder)).status
    const refresh = sign({ claims: { sub: 'alice', sid: randomUUID(), token_type: 'refresh', cnf: { 'x5t#S256': holder.thumbprint } } })

    const none = await refreshWith(refresh, null)
    t.equal(none.status, 401, 'no certificate')
    t.equal(none.body.error, 'invalid_token')
    t.match(none.body.error_description, /presented none/)
    t.match((await refreshWith(refresh, stranger)).body.error_description, /another client certificate/, 'another certificate')
    const rotated = await refreshWith(refresh, holder)
    t.equal(rotated.status, 200, 'the holder: the refusals did not spend the token')
    t.same(payloadOf(rotated.body.access_token).cnf, { 'x5t#S256': holder.thumbprint }, 'the new pair stays bound')
    t.same(payloadOf(rotated.body.refresh_token).cnf, { 'x5t#S256': holder.thumbprint })

    // A copy of the spent token, replayed by someone without the certificate, ends nothing.
    t.equal((await refreshWith(refresh, null)).status, 401, 'the spent token, no certificate')
    t.equal((await refreshWith(refresh, stranger)).status, 401, 'the spent token, another certificate')
    t.equal(await validate(rotated.body.access_token), 200, 'the session lives on')
    // Presented with the certificate, it is reuse (RFC 9700 §4.14.2): the session ends.
    t.match((await refreshWith(refresh, holder)).body.error_description, /revoked/)
    t.equal(await validate(rotated.body.access_token), 401, 'the session was revoked')
  })
}
