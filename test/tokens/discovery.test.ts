import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import t from 'tap'
import { discover, DiscoveryError } from '../../src/tokens/discovery.js'
import { runCommand } from '../helpers/cli.js'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { AUDIENCE, startOpenIdProvider } from '../helpers/oidc-provider.js'

interface Teardown { teardown: (fn: () => unknown) => void }

/** A real HTTP server answering every request with `answer`; its base URL. */
async function serve (t: Teardown, answer: (req: IncomingMessage, res: ServerResponse, base: string) => void): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
  server.on('request', (req, res) => { answer(req, res, base) })
  t.teardown(() => { server.closeAllConnections(); server.close() })
  return base
}

/** Metadata naming `issuerOf(base)` and a JWKS beside it, at whatever path is asked. */
async function metadataServer (t: Teardown, issuerOf: (base: string) => string, extra: Record<string, unknown> = {}): Promise<{ base: string, paths: string[] }> {
  const paths: string[] = []
  const base = await serve(t, (req, res, base) => {
    paths.push(req.url ?? '')
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ issuer: issuerOf(base), jwks_uri: `${base}/jwks`, ...extra }))
  })
  return { base, paths }
}

const DEV = { timeoutMs: 2000, allowHttp: true }
const issuersEnv = (entry: Record<string, unknown>): Record<string, string> => ({
  NODE_ENV: 'development', JWT_SECRET: '', JWT_ISSUERS: JSON.stringify([{ audience: AUDIENCE, ...entry }])
})

t.test('OIDC Discovery §4: tokengate reads a real oidc-provider\'s metadata and verifies its JWT access tokens', async (t) => {
  const provider = await startOpenIdProvider(t)
  const gw = await startGateway(t, issuersEnv({ issuer: provider.issuer, discovery: true }))
  const token = await provider.accessToken()
  const res = await call(`${gw.url}/auth/verify`, { token })
  t.equal(res.status, 200)
  t.equal(res.headers.get('x-user-id'), 'orders-client')
  const other = await startGateway(t, issuersEnv({ issuer: provider.issuer, discovery: true, audience: 'billing-api' }))
  t.equal((await call(`${other.url}/auth/verify`, { token })).status, 401, 'a token for another audience is refused')
  const either = await startGateway(t, issuersEnv({ issuer: provider.issuer, discovery: true, audience: ['billing-api', AUDIENCE] }))
  t.equal((await call(`${either.url}/auth/verify`, { token })).status, 200, 'an audience list takes a token carrying one of them')
})

t.test('grants_admin: an issuer\'s admin role opens /admin only when its entry says so', async (t) => {
  const provider = await startOpenIdProvider(t, { roles: ['admin'] })
  const token = await provider.accessToken()
  const partner = await startGateway(t, issuersEnv({ issuer: provider.issuer, discovery: true }))
  t.equal((await call(`${partner.url}/auth/verify`, { token })).status, 200, 'the token itself is accepted')
  t.equal((await call(`${partner.url}/admin/alerts`, { token })).status, 403, 'grants_admin defaults to false')
  const trusted = await startGateway(t, issuersEnv({ issuer: provider.issuer, discovery: true, grants_admin: true }))
  t.equal((await call(`${trusted.url}/admin/alerts`, { token })).status, 200)
})

t.test('OIDC Discovery §4.3, RFC 8414 §3.3: metadata naming another issuer is refused, naming the configured issuer', async (t) => {
  const { base } = await metadataServer(t, () => 'https://attacker.example.com')
  const err = await discover(base, new URL(`${base}/.well-known/openid-configuration`), DEV).catch((err: unknown) => err)
  t.type(err, DiscoveryError)
  t.match((err as Error).message, `issuer "${base}": the metadata at ${base}/.well-known/openid-configuration names "https://attacker.example.com"`)
  t.match((err as Error).message, /OIDC Discovery 1\.0 §4\.3, RFC 8414 §3\.3/)
  const missing = await metadataServer(t, () => '', { issuer: undefined })
  await t.rejects(discover(missing.base, new URL(`${missing.base}/m`), DEV), /names no issuer/)
})

t.test('OIDC Discovery §4.3, RFC 8414 §3.3: a trailing "/" makes another issuer, in either direction', async (t) => {
  const withSlash = await metadataServer(t, (base) => `${base}/`)
  await t.rejects(discover(withSlash.base, new URL(`${withSlash.base}/.well-known/openid-configuration`), DEV),
    new RegExp(`names "${withSlash.base}/"; it must name the configured issuer exactly, trailing "/" included`))
  const without = await metadataServer(t, (base) => base)
  await t.rejects(discover(`${without.base}/`, new URL(`${without.base}/.well-known/openid-configuration`), DEV), /trailing "\/" included/)
  t.same((await discover(without.base, new URL(`${without.base}/.well-known/openid-configuration`), DEV)).jwksUrl.href, `${without.base}/jwks`, 'an exact match is accepted')
})

t.test('OIDC Discovery §4.3 at start-up: a mismatching issuer stops tokengate serve with a message naming JWT_ISSUERS and the issuer', async (t) => {
  const { base, paths } = await metadataServer(t, (base) => `${base}/`)
  const run = await runCommand(['serve'], { ...issuersEnv({ issuer: base, discovery: true }), HOST: '127.0.0.1', PORT: '0' })
  t.equal(run.code, 1)
  t.match(run.stderr, `tokengate: invalid configuration:\n  JWT_ISSUERS: issuer "${base}": the metadata at ${base}/.well-known/openid-configuration names "${base}/"`)
  t.same(paths, ['/.well-known/openid-configuration'], 'OIDC Discovery §4: the issuer\'s well-known URL')
})

t.test('RFC 8414 §3.1: "oauth-authorization-server" reads the path-inserted well-known URL; §3.3 holds there too', async (t) => {
  const { base, paths } = await metadataServer(t, (base) => `${base}/tenant/a`)
  const run = await runCommand(['serve'], { ...issuersEnv({ issuer: `${base}/tenant/b`, discovery: 'oauth-authorization-server' }), HOST: '127.0.0.1', PORT: '0' })
  t.equal(run.code, 1)
  t.match(run.stderr, `JWT_ISSUERS: issuer "${base}/tenant/b": the metadata at ${base}/.well-known/oauth-authorization-server/tenant/b names "${base}/tenant/a"`)
  t.same(paths, ['/.well-known/oauth-authorization-server/tenant/b'])
  t.equal((await discover(`${base}/tenant/a`, new URL(`${base}/.well-known/oauth-authorization-server/tenant/a`), DEV)).issuer, `${base}/tenant/a`)
})

t.test('the metadata\'s jwks_uri must be https outside NODE_ENV=development', async (t) => {
  const { base } = await metadataServer(t, (base) => base)
  const url = new URL(`${base}/.well-known/openid-configuration`)
  await t.rejects(discover(base, url, { ...DEV, allowHttp: false }), /names jwks_uri http:\/\/127\.0\.0\.1:\d+\/jwks, which is not https/)
  const noKeys = await metadataServer(t, (base) => base, { jwks_uri: 'not a url' })
  await t.rejects(discover(noKeys.base, new URL(`${noKeys.base}/m`), DEV), /has no jwks_uri URL/)
})

t.test('a metadata document that is too large, slow, not JSON or not 200 is refused with the issuer named', async (t) => {
  const huge = await serve(t, (_req, res) => { res.end(JSON.stringify({ issuer: 'x', padding: 'x'.repeat(300 * 1024) })) })
  await t.rejects(discover(huge, new URL(`${huge}/m`), DEV), new RegExp(`issuer "${huge}": its metadata at ${huge}/m could not be read \\(metadata document larger than 262144 bytes\\)`))
  const silent = await serve(t, () => {})
  await t.rejects(discover(silent, new URL(`${silent}/m`), { ...DEV, timeoutMs: 200 }), /could not be read \(.*(aborted|timeout).*\)/i)
  const html = await serve(t, (_req, res) => { res.end('<html>captive portal</html>') })
  await t.rejects(discover(html, new URL(`${html}/m`), DEV), /could not be read/)
  const gone = await serve(t, (_req, res) => { res.statusCode = 404; res.end('{}') })
  await t.rejects(discover(gone, new URL(`${gone}/m`), DEV), /could not be read \(status 404\)/)
  const list = await serve(t, (_req, res) => { res.end('[]') })
  await t.rejects(discover(list, new URL(`${list}/m`), DEV), /is not a JSON object/)
})
