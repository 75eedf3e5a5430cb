import { createServer, type Server } from 'node:http'
import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { keyPair, sign, type KeyPair } from '../helpers/tokens.js'

interface JwksServer { url: string, requests: number, keys: Array<Record<string, unknown>>, server: Server, up: boolean }

async function startJwks (t: { teardown: (fn: () => unknown) => void }): Promise<JwksServer> {
  const state: JwksServer = { url: '', requests: 0, keys: [], server: createServer(), up: true }
  state.server.on('request', (_req, res) => {
    state.requests++
    if (!state.up) { res.statusCode = 503; res.end(); return }
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ keys: state.keys }))
  })
  await new Promise<void>((resolve) => state.server.listen(0, '127.0.0.1', resolve))
  const address = state.server.address()
  state.url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/.well-known/jwks.json`
  t.teardown(() => state.server.close())
  return state
}

function jwk (pair: KeyPair, kid: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...pair.publicKey.export({ format: 'jwk' }), kid, use: 'sig', ...extra }
}

const env = (url: string, cooldown = '1'): Record<string, string> => ({
  JWT_SECRET: '', JWT_ALGORITHMS: 'RS256,ES256', JWKS_URL: url, JWKS_COOLDOWN_S: cooldown
})

t.test('JWKS rotation: a token with a new kid is accepted once the key set publishes it', async (t) => {
  const jwks = await startJwks(t)
  const a = keyPair('rsa')
  const b = keyPair('ec')
  jwks.keys = [jwk(a, 'key-a')]
  const gw = await startGateway(t, env(jwks.url, '1'))
  const tokenA = sign({ key: a.privatePem, algorithm: 'RS256', kid: 'key-a' })
  const tokenB = sign({ key: b.privatePem, algorithm: 'ES256', kid: 'key-b' })
  t.equal((await call(`${gw.url}/auth/verify`, { token: tokenA })).status, 200)
  t.equal((await call(`${gw.url}/auth/verify`, { token: tokenB })).status, 401, 'key-b is not published yet')
  jwks.keys = [jwk(a, 'key-a'), jwk(b, 'key-b')]
  await new Promise((resolve) => setTimeout(resolve, 1100)) // past the cooldown
  t.equal((await call(`${gw.url}/auth/verify`, { token: tokenB })).status, 200, 'refetched on the unknown kid')
  t.equal((await call(`${gw.url}/auth/verify`, { token: tokenA })).status, 200, 'the old key still works during the overlap')
})

t.test('unknown kids refetch at most once per cooldown, one fetch for concurrent requests', async (t) => {
  const jwks = await startJwks(t)
  const a = keyPair('rsa')
  jwks.keys = [jwk(a, 'key-a')]
  const gw = await startGateway(t, env(jwks.url, '1'))
  await new Promise((resolve) => setTimeout(resolve, 1100)) // the start-up fetch's cooldown is over
  const forged = keyPair('rsa')
  const burst = async (from: number): Promise<number[]> => await Promise.all(Array.from({ length: 20 }, async (_, i) =>
    (await call(`${gw.url}/auth/verify`, { token: sign({ key: forged.privatePem, algorithm: 'RS256', kid: `unknown-${from + i}` }) })).status))
  const before = jwks.requests
  t.ok((await burst(0)).every((status) => status === 401))
  t.equal(jwks.requests - before, 1, '20 concurrent unknown kids: one shared fetch')
  t.ok((await burst(20)).every((status) => status === 401))
  t.equal(jwks.requests - before, 1, 'none more within the cooldown')
})

t.test('a JWKS outage keeps the keys already known', async (t) => {
  const jwks = await startJwks(t)
  const a = keyPair('rsa')
  jwks.keys = [jwk(a, 'key-a')]
  const gw = await startGateway(t, env(jwks.url, '1'))
  jwks.up = false
  await new Promise((resolve) => setTimeout(resolve, 1100))
  const unknown = sign({ key: keyPair('rsa').privatePem, algorithm: 'RS256', kid: 'key-z' })
  t.equal((await call(`${gw.url}/auth/verify`, { token: unknown })).status, 401, 'triggers a failed refetch')
  t.equal((await call(`${gw.url}/auth/verify`, { token: sign({ key: a.privatePem, algorithm: 'RS256', kid: 'key-a' }) })).status, 200)
})

t.test('symmetric keys in a JWKS and keys for other algorithms are ignored', async (t) => {
  const jwks = await startJwks(t)
  const secret = 'jwks-oct-secret-jwks-oct-secret-jwks-oct'
  const ed = keyPair('ed25519')
  jwks.keys = [
    { kty: 'oct', k: Buffer.from(secret).toString('base64url'), kid: 'oct' },
    jwk(ed, 'ed')
  ]
  const gw = await startGateway(t, env(jwks.url))
  t.equal((await call(`${gw.url}/auth/verify`, { token: sign({ key: secret, algorithm: 'HS256', kid: 'oct' }) })).status, 401, 'oct key not used')
  t.equal((await call(`${gw.url}/auth/verify`, { token: sign({ key: ed.privatePem, algorithm: 'EdDSA', kid: 'ed' }) })).status, 401, 'EdDSA not in the allow-list')
})
