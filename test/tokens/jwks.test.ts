import { createServer, type Server } from 'node:http'
import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { JwksKeySet } from '../../src/tokens/jwks.js'
import { createTokenVerifier } from '../../src/tokens/verifier.js'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { manualClock } from '../helpers/clock.js'
import { keyPair, nowS, SECRET, sign, signRaw, type KeyPair } from '../helpers/tokens.js'
import { until } from '../helpers/until.js'
import { scrape, valueOf } from '../helpers/scrape.js'

interface JwksServer {
  url: string
  requests: number
  keys: Array<Record<string, unknown>>
  up: boolean
  /** Milliseconds each answer waits, so that concurrent callers overlap one fetch. */
  delayMs: number
  /** Served instead of { keys } when set. */
  body: string | null
  server: Server
}

async function startJwks (t: { teardown: (fn: () => unknown) => void }): Promise<JwksServer> {
  const state: JwksServer = { url: '', requests: 0, keys: [], up: true, delayMs: 0, body: null, server: createServer() }
  state.server.on('request', (_req, res) => {
    state.requests++
    setTimeout(() => {
      if (!state.up) { res.statusCode = 503; res.end(); return }
      res.setHeader('content-type', 'application/json')
      res.end(state.body ?? JSON.stringify({ keys: state.keys }))
    }, state.delayMs)
  })
  await new Promise<void>((resolve) => state.server.listen(0, '127.0.0.1', resolve))
  const address = state.server.address()
  state.url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/.well-known/jwks.json`
  t.teardown(() => { state.server.closeAllConnections(); state.server.close() })
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
  const clock = manualClock()
  const gw = await startGateway(t, env(jwks.url), { now: clock.now })
  t.equal(jwks.requests, 1, 'fetched once at start')
  const tokenA = sign({ key: a.privatePem, algorithm: 'RS256', kid: 'key-a' })
  const tokenB = sign({ key: b.privatePem, algorithm: 'ES256', kid: 'key-b' })
  t.equal((await call(`${gw.url}/auth/verify`, { token: tokenA })).status, 200)
  t.equal((await call(`${gw.url}/auth/verify`, { token: tokenB })).status, 401, 'key-b is not published yet')
  jwks.keys = [jwk(a, 'key-a'), jwk(b, 'key-b')]
  clock.advance(999)
  t.equal((await call(`${gw.url}/auth/verify`, { token: tokenB })).status, 401, 'published, but the cooldown has 1 ms left')
  clock.advance(1)
  t.equal((await call(`${gw.url}/auth/verify`, { token: tokenB })).status, 200, 'key-b accepted once the cooldown allows a refetch')
  t.equal(jwks.requests, 2, 'the calls inside the cooldown fetched nothing; one refetch brought key-b')
  t.equal((await call(`${gw.url}/auth/verify`, { token: tokenA })).status, 200, 'the old key still works during the overlap')
})

t.test('unknown kids refetch at most once per JWKS_COOLDOWN_S', async (t) => {
  const jwks = await startJwks(t)
  jwks.keys = [jwk(keyPair('rsa'), 'key-a')]
  const forged = keyPair('rsa')
  const clock = manualClock()
  const gw = await startGateway(t, env(jwks.url, '3'), { now: clock.now })
  let n = 0
  const unknownKid = async (): Promise<number> =>
    (await call(`${gw.url}/auth/verify`, { token: sign({ key: forged.privatePem, algorithm: 'RS256', kid: `unknown-${n++}` }) })).status
  const burst = async (): Promise<number[]> => await Promise.all(Array.from({ length: 20 }, unknownKid))

  t.ok((await burst()).every((status) => status === 401))
  t.equal(jwks.requests, 1, 'right after the start-up fetch: no refetch')
  clock.advance(2999)
  await unknownKid()
  t.equal(jwks.requests, 1, 'not before the cooldown has passed')
  clock.advance(1)
  await unknownKid()
  t.equal(jwks.requests, 2, 'one refetch once the cooldown is over')
  t.ok((await burst()).every((status) => status === 401))
  t.equal(jwks.requests, 2, 'none more within the new cooldown')
})

t.test('concurrent tokens with unknown kids share one JWKS fetch', async (t) => {
  const jwks = await startJwks(t)
  const b = keyPair('rsa')
  jwks.keys = [jwk(keyPair('rsa'), 'key-a')]
  jwks.delayMs = 100
  const clock = manualClock(0)
  const config = loadConfig({ ...env(jwks.url, '60'), NODE_ENV: 'test' })
  const keys = new JwksKeySet(config.jwt.issuers[0].jwksUrl ?? new URL(jwks.url), config.jwt, config.jwt.issuers[0], { info () {}, warn () {} }, { now: clock.now })
  t.equal(await keys.refresh(), true)
  const verifier = createTokenVerifier(config.jwt, [keys])
  jwks.keys = [jwk(b, 'key-b')]
  clock.advance(60_000)
  const results = await Promise.all(Array.from({ length: 20 }, async () =>
    await verifier.verify(sign({ key: b.privatePem, algorithm: 'RS256', kid: 'key-b' }))))
  t.ok(results.every((r) => r.ok), 'all 20 verify with the fetched key')
  t.equal(jwks.requests, 2, 'the start-up fetch and one shared refetch')
  clock.advance(59_000)
  await verifier.verify(sign({ key: b.privatePem, algorithm: 'RS256', kid: 'key-c' }))
  t.equal(jwks.requests, 2, '59 s later: still cooling down')
  clock.advance(1000)
  await verifier.verify(sign({ key: b.privatePem, algorithm: 'RS256', kid: 'key-c' }))
  t.equal(jwks.requests, 3, '60 s later: one more fetch')
})

t.test('HS tokens with a kid never make the JWKS refetch', async (t) => {
  const jwks = await startJwks(t)
  jwks.keys = [jwk(keyPair('rsa'), 'key-a')]
  const clock = manualClock(0)
  const config = loadConfig({ NODE_ENV: 'test', JWT_SECRET: SECRET, JWT_ALGORITHMS: 'HS256,RS256', JWKS_URL: jwks.url, JWKS_COOLDOWN_S: '1' })
  const keys = new JwksKeySet(config.jwt.issuers[0].jwksUrl ?? new URL(jwks.url), config.jwt, config.jwt.issuers[0], { info () {}, warn () {} }, { now: clock.now })
  await keys.refresh()
  const verifier = createTokenVerifier(config.jwt, [keys])
  clock.advance(60_000)
  const result = await verifier.verify(sign({ kid: 'secret-v2' }))
  t.match(result, { ok: true })
  t.equal(jwks.requests, 1, 'no fetch for an HMAC kid')
})

t.test('a key removed from the JWKS stops verifying, even for tokens it verified before', async (t) => {
  const jwks = await startJwks(t)
  const a = keyPair('rsa')
  const b = keyPair('rsa')
  jwks.keys = [jwk(a, 'key-a'), jwk(b, 'key-b')]
  const clock = manualClock()
  const gw = await startGateway(t, env(jwks.url, '1'), { now: clock.now })
  const tokenA = sign({ key: a.privatePem, algorithm: 'RS256', kid: 'key-a' })
  t.equal((await call(`${gw.url}/auth/verify`, { token: tokenA })).status, 200, 'verified')
  t.equal((await call(`${gw.url}/auth/verify`, { token: tokenA })).status, 200, 'verified again (and now cached: admitted on second use)')
  jwks.keys = [jwk(b, 'key-b')]
  const unknown = sign({ key: keyPair('rsa').privatePem, algorithm: 'RS256', kid: 'key-z' })
  clock.advance(1000)
  t.ok(await until(async () => { await call(`${gw.url}/auth/verify`, { token: unknown }); return jwks.requests === 2 }, 5000, 50), 'refetched')
  t.equal((await call(`${gw.url}/auth/verify`, { token: tokenA })).status, 401, 'key-a is gone')
  t.equal((await call(`${gw.url}/auth/verify`, { token: sign({ key: b.privatePem, algorithm: 'RS256', kid: 'key-b' }) })).status, 200)
})

t.test('a JWKS outage keeps the keys already known', async (t) => {
  const jwks = await startJwks(t)
  const a = keyPair('rsa')
  jwks.keys = [jwk(a, 'key-a')]
  const clock = manualClock()
  const gw = await startGateway(t, env(jwks.url, '1'), { now: clock.now })
  jwks.up = false
  const unknown = sign({ key: keyPair('rsa').privatePem, algorithm: 'RS256', kid: 'key-z' })
  clock.advance(1000)
  t.ok(await until(async () => { await call(`${gw.url}/auth/verify`, { token: unknown }); return jwks.requests === 2 }, 5000, 50), 'an unknown kid triggered a refetch that failed')
  t.equal((await call(`${gw.url}/auth/verify`, { token: unknown })).status, 401)
  t.equal((await call(`${gw.url}/auth/verify`, { token: sign({ key: a.privatePem, algorithm: 'RS256', kid: 'key-a' }) })).status, 200, 'key-a still verifies')
  t.ok(gw.logs.some((line) => line.includes('JWKS fetch failed; keeping the previous keys')), 'the failure is logged')
  // Issue 20 item 5: an outage of the identity provider every replica shares must not take them all out.
  t.equal((await call(`${gw.url}/readyz`)).status, 200, 'still ready: it verifies with the keys it has')
  // Issue 20 item 4: the outage is in the metrics, per issuer.
  const samples = await scrape(gw.url)
  t.equal(valueOf(samples, 'tokengate_jwks_fetches_total', { result: 'ok' }), 1)
  t.ok(valueOf(samples, 'tokengate_jwks_fetches_total', { result: 'failed' }) >= 1, 'the failed refetch is counted')
  t.equal(valueOf(samples, 'tokengate_jwks_keys'), 1, 'the key kept')
  t.ok(valueOf(samples, 'tokengate_jwks_last_success_timestamp_seconds') > 0, 'when it was last fetched')
})

t.test('an empty or oversized key set does not replace the keys already known', async (t) => {
  const jwks = await startJwks(t)
  const a = keyPair('rsa')
  jwks.keys = [jwk(a, 'key-a')]
  const clock = manualClock()
  const gw = await startGateway(t, env(jwks.url, '1'), { now: clock.now })
  const known = sign({ key: a.privatePem, algorithm: 'RS256', kid: 'key-a' })
  const unknown = sign({ key: keyPair('rsa').privatePem, algorithm: 'RS256', kid: 'key-z' })
  const refetched = async (count: number): Promise<boolean> => {
    clock.advance(1000)
    return await until(async () => { await call(`${gw.url}/auth/verify`, { token: unknown }); return jwks.requests === count }, 5000, 50)
  }

  jwks.keys = []
  t.ok(await refetched(2), 'refetched an empty set')
  t.equal((await call(`${gw.url}/auth/verify`, { token: known })).status, 200, 'key-a still verifies')
  t.ok(gw.logs.some((line) => line.includes('holds no usable key')))

  jwks.body = JSON.stringify({ keys: [jwk(a, 'key-a')], padding: 'x'.repeat(600 * 1024) })
  t.ok(await refetched(3), 'refetched an oversized document')
  t.equal((await call(`${gw.url}/auth/verify`, { token: known })).status, 200, 'key-a still verifies')
  t.ok(gw.logs.some((line) => line.includes('JWKS document larger than')))
})

t.test('a JWKS unreachable at start-up: the gateway starts and picks the keys up later', async (t) => {
  const jwks = await startJwks(t)
  const a = keyPair('rsa')
  jwks.up = false
  const clock = manualClock()
  const gw = await startGateway(t, env(jwks.url, '1'), { now: clock.now })
  const token = sign({ key: a.privatePem, algorithm: 'RS256', kid: 'key-a' })
  t.equal((await call(`${gw.url}/auth/verify`, { token })).status, 401, 'no keys yet')
  // Issue 20 item 5: a rollout must not pass readiness with no key to verify a token.
  t.match(await call(`${gw.url}/readyz`), { status: 503, body: { status: 'loading' } }, 'not ready without keys')
  jwks.keys = [jwk(a, 'key-a')]
  jwks.up = true
  const before = jwks.requests
  clock.advance(1000)
  t.ok(await until(async () => (await call(`${gw.url}/readyz`)).status === 200, 5000, 50), 'the probe itself fetches the keys (no token reaches an unready replica)')
  t.equal(jwks.requests, before + 1, 'once: the cooldown bounds the probe\'s fetches')
  t.equal((await call(`${gw.url}/auth/verify`, { token })).status, 200, 'and tokens are accepted')
})

t.test('symmetric keys in a JWKS and keys for other algorithms are ignored', async (t) => {
  const jwks = await startJwks(t)
  const secret = 'jwks-oct-secret-jwks-oct-secret-jwks-oct'
  const ed = keyPair('ed25519')
  const rsa = keyPair('rsa')
  jwks.keys = [
    { kty: 'oct', k: Buffer.from(secret).toString('base64url'), kid: 'oct' },
    jwk(ed, 'ed'),
    jwk(rsa, 'enc-only', { use: 'enc' })
  ]
  const gw = await startGateway(t, env(jwks.url))
  t.equal((await call(`${gw.url}/auth/verify`, { token: sign({ key: secret, algorithm: 'HS256', kid: 'oct' }) })).status, 401, 'oct key not used')
  t.equal((await call(`${gw.url}/auth/verify`, { token: sign({ key: ed.privatePem, algorithm: 'EdDSA', kid: 'ed' }) })).status, 401, 'EdDSA not in the allow-list')
  t.equal((await call(`${gw.url}/auth/verify`, { token: sign({ key: rsa.privatePem, algorithm: 'RS256', kid: 'enc-only' }) })).status, 401, 'a key published for encryption')
})

t.test('algorithm confusion through the JWKS: HS256 signed with a published key is refused', async (t) => {
  const jwks = await startJwks(t)
  const rsa = keyPair('rsa')
  jwks.keys = [jwk(rsa, 'key-a')]
  const gw = await startGateway(t, { JWT_ALGORITHMS: 'HS256,RS256', JWKS_URL: jwks.url })
  t.equal((await call(`${gw.url}/auth/verify`, { token: sign({ key: rsa.privatePem, algorithm: 'RS256', kid: 'key-a' }) })).status, 200, 'the genuine RS256 token')
  const claims = { sub: 'admin', jti: 'confused-jwks', iat: nowS(), exp: nowS() + 900 }
  const token = signRaw(claims, rsa.publicPem, { alg: 'HS256', typ: 'JWT', kid: 'key-a' })
  t.equal((await call(`${gw.url}/auth/verify`, { token })).status, 401)
})
