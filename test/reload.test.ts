import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { stringify } from 'yaml'
import { loadConfig } from '../src/config/load.js'
import type { Config } from '../src/config/types.js'
import { createServer, type ServerResponse } from 'node:http'
import { jumpingClock } from './helpers/clock.js'
import { BASE_ENV, startGateway, type Gateway, type GatewayOptions } from './helpers/gateway.js'
import { AUDIENCE, startOpenIdProvider } from './helpers/oidc-provider.js'
import { scrape, valueOf } from './helpers/scrape.js'
import { tempDir } from './helpers/temp-dir.js'
import { keyPair, PREVIOUS_SECRET, SECRET, sign } from './helpers/tokens.js'
import { waitFor } from './helpers/until.js'
import { startUpstream } from './helpers/upstream.js'

// In-process: app.tokengateReload(load) is what SIGHUP and a file change call (serve.ts); the
// signal and the watch themselves are tested with a spawned process in test/cli/reload.test.ts.

const user = sign({ claims: { sub: 'alice', roles: ['user'] } })
const admin = sign({ claims: { sub: 'root', roles: ['admin'] } })

/** A gateway configured by a YAML file in a temp directory; `write` replaces the file. */
interface Teardown { teardown: (fn: () => unknown) => void }

async function fileGateway (t: Teardown, settings: Record<string, unknown>, env: Record<string, string> = {}, options: GatewayOptions = {}): Promise<{ gw: Gateway, write: (next: Record<string, unknown>) => void, reload: () => ReturnType<Gateway['app']['tokengateReload']>, fullEnv: Record<string, string> }> {
  const dir = tempDir(t, 'tokengate-reload-')
  const file = join(dir, 'tokengate.yaml')
  const write = (next: Record<string, unknown>): void => { writeFileSync(file, stringify(next)) }
  write(settings)
  const fullEnv = { ...BASE_ENV, JWT_SECRET: '', TOKENGATE_CONFIG: file, ...env }
  const gw = await startGateway(t, fullEnv, options)
  const reload = async (): ReturnType<Gateway['app']['tokengateReload']> => await gw.app.tokengateReload((): Config => loadConfig(fullEnv), 'test')
  return { gw, write, reload, fullEnv }
}

async function forwardAuth (gw: Gateway, uri: string, token: string): Promise<number> {
  const res = await fetch(`${gw.url}/auth/verify`, { headers: { authorization: `Bearer ${token}`, 'x-original-method': 'GET', 'x-original-uri': uri } })
  await res.arrayBuffer()
  return res.status
}

async function proxied (gw: Gateway, path: string, token?: string): Promise<number> {
  const res = await fetch(`${gw.url}${path}`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })
  await res.arrayBuffer()
  return res.status
}

const ADMIN_RULE = [{ path: '/admin', roles: ['admin'] }]

t.test('a rule added by reload refuses the very next request, in forward-auth and proxy mode; removed, it allows again', async (t) => {
  const upstream = await startUpstream(t)
  const { gw, write, reload } = await fileGateway(t, { JWT_SECRET: SECRET, UPSTREAM_URL: upstream.url })
  t.equal(await forwardAuth(gw, '/admin/users', user), 200, 'forward-auth: no rule yet')
  t.equal(await proxied(gw, '/admin/users', user), 200, 'proxy: no rule yet')
  write({ JWT_SECRET: SECRET, UPSTREAM_URL: upstream.url, ACCESS_RULES: ADMIN_RULE, PUBLIC_PATHS: ['/status'] })
  t.match(await reload(), { ok: true })
  t.equal(await forwardAuth(gw, '/admin/users', user), 403, 'forward-auth: refused by the new rule')
  t.equal(await proxied(gw, '/admin/users', user), 403, 'proxy: refused by the new rule')
  t.equal(await forwardAuth(gw, '/admin/users', admin), 200, 'an admin passes')
  t.equal(await proxied(gw, '/status'), 200, 'a new public path needs no token')
  // A trusted proxy that does not say the original URI cannot be decided once rules exist.
  const bare = await fetch(`${gw.url}/auth/verify`, { headers: { authorization: `Bearer ${user}` } })
  t.equal(bare.status, 400, 'the original URI is required from the first rule on')
  write({ JWT_SECRET: SECRET, UPSTREAM_URL: upstream.url })
  t.match(await reload(), { ok: true })
  t.equal(await forwardAuth(gw, '/admin/users', user), 200, 'forward-auth: the rule is gone')
  t.equal(await proxied(gw, '/admin/users', user), 200, 'proxy: the rule is gone')
  t.equal(await proxied(gw, '/status'), 401, 'the public path is gone')
})

t.test('a key removed by reload refuses its tokens at once, cached ones included', async (t) => {
  const { gw, write, reload } = await fileGateway(t, { JWT_SECRET: SECRET, JWT_PREVIOUS_SECRET: PREVIOUS_SECRET })
  const old = sign({ key: PREVIOUS_SECRET, claims: { sub: 'bob' } })
  // Twice: the second use admits it to the verified-token cache.
  for (let i = 0; i < 3; i++) t.equal(await forwardAuth(gw, '/x', old), 200, `use ${i + 1} before the reload`)
  write({ JWT_SECRET: SECRET })
  t.match(await reload(), { ok: true })
  t.equal(await forwardAuth(gw, '/x', old), 401, 'the very next request is refused')
  t.equal(await forwardAuth(gw, '/x', user), 200, 'the current key still verifies')
})

t.test('an invalid reload keeps the running configuration, names every problem, moves the metric; readiness stays ready', async (t) => {
  const { gw, write, reload } = await fileGateway(t, { JWT_SECRET: SECRET, ACCESS_RULES: ADMIN_RULE })
  write({ JWT_SECRET: SECRET, ACCESS_RULES: [{ path: 'admin' }], FAILMODE: 'closed' })
  const outcome = await reload()
  t.equal(outcome.ok, false)
  t.match(outcome.ok ? [] : outcome.problems, [/FAILMODE: unknown key; did you mean FAIL_MODE\?/, /ACCESS_RULES: rule 0/])
  t.equal(await forwardAuth(gw, '/admin', user), 403, 'the old rule still applies')
  t.equal((await fetch(`${gw.url}/readyz`)).status, 200, 'still ready')
  const samples = await scrape(gw.url)
  t.equal(valueOf(samples, 'tokengate_config_reloads_total', { result: 'failure' }), 1)
  t.equal(valueOf(samples, 'tokengate_config_reloads_total', { result: 'success' }), 0)
  t.match(gw.logs.join(''), /configuration reload refused; the running configuration is kept/)
  t.notOk(gw.logs.join('').includes(SECRET), 'no secret logged')
})

t.test('a setting read at start refuses the reload, naming it', async (t) => {
  const { gw, write, reload } = await fileGateway(t, { JWT_SECRET: SECRET, FAIL_MODE: 'open' })
  write({ JWT_SECRET: SECRET, FAIL_MODE: 'closed', ACCESS_RULES: ADMIN_RULE, REDIS_URL: 'redis://127.0.0.1:1' })
  const outcome = await reload()
  t.same(outcome.ok ? [] : outcome.problems, [
    'REDIS_URL: is read at start; this change needs a restart (the running configuration is kept)',
    'FAIL_MODE: is read at start; this change needs a restart (the running configuration is kept)'
  ])
  t.equal(await forwardAuth(gw, '/admin', user), 200, 'nothing of it applied, the live rule neither')
})

t.test('an issuer added by reload is discovered and its keys fetched before the swap: its next token passes; readiness unchanged', async (t) => {
  const [first, added] = [await startOpenIdProvider(t, { roles: ['admin'] }), await startOpenIdProvider(t)]
  const own = { issuer: first.issuer, discovery: true, audience: AUDIENCE, grants_admin: true }
  const { gw, write, reload } = await fileGateway(t, { JWT_ISSUERS: [own] }, { NODE_ENV: 'development' })
  const [firstToken, token] = [await first.accessToken(), await added.accessToken()]
  const revokeUser = async (): Promise<string> => {
    const res = await fetch(`${gw.url}/admin/users/bob/revoke?iss=${encodeURIComponent(added.issuer)}`, { method: 'POST', headers: { authorization: `Bearer ${firstToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'reload test' }) })
    return `${res.status} ${await res.text()}`
  }
  t.equal(await forwardAuth(gw, '/x', token), 401, 'unknown issuer before')
  t.equal(await forwardAuth(gw, '/x', firstToken), 200)
  t.match(await revokeUser(), /^400 .*issuer/i, 'an administrator cannot name it yet')
  write({ JWT_ISSUERS: [own, { issuer: added.issuer, discovery: true, audience: AUDIENCE }] })
  t.match(await reload(), { ok: true })
  t.equal(await forwardAuth(gw, '/x', token), 200, 'verified at once')
  t.match(await revokeUser(), /^200 /, 'an administrator can revoke its users at once')
  t.equal(await forwardAuth(gw, '/x', firstToken), 200, 'the first issuer still verifies')
  t.equal((await fetch(`${gw.url}/readyz`)).status, 200)
  // An issuer whose metadata cannot be read fails the reload, as it would fail start-up.
  write({ JWT_ISSUERS: [own, { issuer: added.issuer, discovery: true, audience: AUDIENCE }, { issuer: 'http://127.0.0.1:1', discovery: true, audience: AUDIENCE }] })
  const failed = await reload()
  t.match(failed.ok ? [] : failed.problems, [/JWT_ISSUERS: .*http:\/\/127\.0\.0\.1:1/])
  t.equal(await forwardAuth(gw, '/x', token), 200, 'the running issuers are kept')
  // Removed by a reload: its tokens are refused from the next request on.
  write({ JWT_ISSUERS: [own] })
  t.match(await reload(), { ok: true })
  t.equal(await forwardAuth(gw, '/x', token), 401, 'the removed issuer\'s token is refused at once')
  t.equal(await forwardAuth(gw, '/x', firstToken), 200, 'the kept issuer kept its keys')
})

t.test('a request carries the configuration it started with across its await: a reload during its JWKS fetch does not reach it', async (t) => {
  const [one, two] = [keyPair('rsa'), keyPair('rsa')]
  const jwk = (pair: ReturnType<typeof keyPair>, kid: string): Record<string, unknown> => ({ ...pair.publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' })
  // The first fetch (start-up) answers at once with key one; the next is held until released, with key two.
  let fetches = 0
  let held: ServerResponse | null = null
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json')
    if (fetches++ === 0) res.end(JSON.stringify({ keys: [jwk(one, 'one')] }))
    else held = res
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const address = server.address()
  const jwksUri = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/jwks`
  const issuer = { issuer: 'https://idp.example.com', jwks_uri: jwksUri, audience: AUDIENCE, grants_admin: true }
  const clock = jumpingClock()
  const { gw, write, reload } = await fileGateway(t, { JWT_ISSUERS: [issuer] }, { NODE_ENV: 'development' }, { now: clock.now })
  clock.jump(60_000) // past the refetch cooldown of the start-up fetch
  const token = sign({ key: two.privatePem, algorithm: 'RS256', kid: 'two', claims: { iss: issuer.issuer, aud: AUDIENCE, sub: 'dave', roles: ['user'] } })
  const inFlight = forwardAuth(gw, '/admin/users', token)
  await waitFor(() => held !== null, 'the unknown kid to be fetched')
  write({ JWT_ISSUERS: [issuer], ACCESS_RULES: [{ path: '/admin', roles: ['admin'] }] })
  t.match(await reload(), { ok: true }, 'swapped while the request waits for the key')
  const response = held as ServerResponse | null
  response?.end(JSON.stringify({ keys: [jwk(one, 'one'), jwk(two, 'two')] }))
  t.equal(await inFlight, 200, 'decided under the configuration it started with (no rule)')
  t.equal(await forwardAuth(gw, '/admin/users', token), 403, 'the next request meets the new rule')
})

t.test('an issuer added by reload whose keys cannot be fetched yet: the reload succeeds and the replica stays ready', async (t) => {
  const first = await startOpenIdProvider(t)
  const own = { issuer: first.issuer, discovery: true, audience: AUDIENCE, grants_admin: true }
  const { gw, write, reload } = await fileGateway(t, { JWT_ISSUERS: [own] }, { NODE_ENV: 'development' })
  write({ JWT_ISSUERS: [own, { issuer: 'https://down.example.com', jwks_uri: 'http://127.0.0.1:1/jwks', audience: AUDIENCE }] })
  t.match(await reload(), { ok: true })
  t.equal((await fetch(`${gw.url}/readyz`)).status, 200, 'still ready')
  t.equal(await forwardAuth(gw, '/x', await first.accessToken()), 200)
})
