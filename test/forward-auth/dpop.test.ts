import fc from 'fast-check'
import t from 'tap'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { call, type JsonResponse } from '../helpers/http.js'
import { boundToken, dpopKey, proof, type DpopKey } from '../helpers/dpop.js'
import { sharedRedis, startRedis } from '../helpers/redis.js'
import { until } from '../helpers/until.js'

const NONCE_SECRET = 'dpop-nonce-secret-at-least-32-bytes-long!'

// The API's origin, configured as in production (a proof names it; a forwarded host chooses among them).
const DPOP_ON = { DPOP: 'true', DPOP_ORIGINS: 'https://bank.example' }
const ORIGINAL = { 'x-forwarded-method': 'POST', 'x-forwarded-uri': '/payments/7?confirm=1', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'bank.example' }
const HTU = 'https://bank.example/payments/7'

async function verify (gw: Gateway, key: DpopKey, token: string, options: { headers?: Record<string, string | undefined>, p?: string, nonce?: string } = {}): Promise<JsonResponse> {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries({ ...ORIGINAL, ...options.headers })) if (value !== undefined) headers[name] = value
  return await call(`${gw.url}/auth/verify`, {
    headers: { ...headers, authorization: `DPoP ${token}`, dpop: options.p ?? proof(key, { htm: 'POST', htu: HTU, token, nonce: options.nonce }) }
  })
}

t.test('forward-auth, RFC 9449 §4.3 checks 8-9: htm and htu come from the trusted proxy\'s original method, proto, host and URI', async (t) => {
  const gw = await startGateway(t, DPOP_ON)
  const key = dpopKey()
  const token = boundToken(key)
  const ok = await verify(gw, key, token)
  t.equal(ok.status, 200)
  t.equal(ok.headers.get('x-token-binding'), 'dpop', 'the identity says the token was sender-constrained')
  const wrongMethod = await verify(gw, key, token, { p: proof(key, { htm: 'GET', htu: HTU, token }) })
  t.equal(wrongMethod.status, 401)
  t.equal(wrongMethod.body.error, 'invalid_dpop_proof')
  const wrongHost = await verify(gw, key, token, { p: proof(key, { htm: 'POST', htu: 'https://evil.example/payments/7', token }) })
  t.equal(wrongHost.status, 401)
})

t.test('forward-auth: without the original method or URI the proof cannot be checked: 400; without the forwarded origin, DPOP_ORIGINS names it', async (t) => {
  const gw = await startGateway(t, DPOP_ON)
  const key = dpopKey()
  const token = boundToken(key)
  for (const missing of ['x-forwarded-method', 'x-forwarded-uri']) {
    const res = await verify(gw, key, token, { headers: { [missing]: undefined } })
    t.equal(res.status, 400, missing)
    t.equal(res.body.error_description?.startsWith('The request URI a DPoP proof is checked against is not known'), true, missing)
  }
  for (const missing of ['x-forwarded-host', 'x-forwarded-proto']) {
    t.equal((await verify(gw, key, token, { headers: { [missing]: undefined } })).status, 200, `${missing} missing: the proof names DPOP_ORIGINS`)
  }
  const bearer = await call(`${gw.url}/auth/verify`, { headers: { authorization: `Bearer ${boundToken(key)}` } })
  t.equal(bearer.status, 401, 'RFC 9449 §7.2: a bound token as Bearer, in forward-auth mode too')
})

t.test('forward-auth: DPOP_ORIGINS stands in for a proxy that sends no X-Forwarded-Proto/-Host', async (t) => {
  const gw = await startGateway(t, DPOP_ON)
  const key = dpopKey()
  const res = await verify(gw, key, boundToken(key), { headers: { 'x-forwarded-proto': undefined, 'x-forwarded-host': undefined } })
  t.equal(res.status, 200)
})

t.test('forward-auth: an untrusted peer\'s original request is not believed: refused', async (t) => {
  const gw = await startGateway(t, { ...DPOP_ON, TRUSTED_PROXIES: '10.9.9.9' })
  const key = dpopKey()
  const res = await verify(gw, key, boundToken(key))
  t.equal(res.status, 400)
})

t.test('RFC 9449 §11.1: a proof replayed on ANOTHER replica sharing Redis is refused and raises dpop_proof_replayed', async (t) => {
  const redis = await sharedRedis(t)
  const env = { ...DPOP_ON, ...redis.env() }
  const a = await startGateway(t, env)
  const b = await startGateway(t, env)
  const key = dpopKey()
  const token = boundToken(key)
  const p = proof(key, { htm: 'POST', htu: HTU, token })
  t.equal((await verify(a, key, token, { p })).status, 200, 'first use, replica A')
  const replay = await verify(b, key, token, { p })
  t.equal(replay.status, 401, 'the same proof at replica B')
  t.equal(replay.body.error_description, 'This DPoP proof (its jti) was already used')
  t.equal((await verify(a, key, token, { p })).status, 401, 'and at replica A again')
  t.equal((await verify(b, key, token)).status, 200, 'a new proof passes at B')
  const raised = await until(async () => /tokengate_security_alerts_total\{severity="HIGH",type="dpop_proof_replayed"\} [1-9]/.test((await call(`${b.url}/metrics`)).text))
  t.ok(raised, 'HIGH alert raised')
})

t.test('RFC 9449 §11.1: a proof replayed under its first request\'s X-Request-Id from another client address is a replay; the same request asked again is not', async (t) => {
  const gw = await startGateway(t, DPOP_ON)
  const key = dpopKey()
  const token = boundToken(key)
  const address = fc.tuple(fc.integer({ min: 1, max: 223 }), fc.nat(255), fc.nat(255), fc.integer({ min: 1, max: 254 })).map((parts) => parts.join('.'))
  // A trusted proxy that passes on a client's own X-Request-Id (not the shipped recipes: nginx,
  // Caddy and Traefik send their own or none) lets the client pick the id its proof is claimed under.
  await fc.assert(fc.asyncProperty(fc.stringMatching(/^[\x21-\x2b\x2d-\x7e]{1,40}$/), address, address, async (id, victim, attacker) => {
    fc.pre(victim !== attacker)
    const p = proof(key, { htm: 'POST', htu: HTU, token })
    const from = (ip: string): Record<string, string> => ({ 'x-request-id': id, 'x-forwarded-for': ip })
    const first = await verify(gw, key, token, { p, headers: from(victim) })
    const again = await verify(gw, key, token, { p, headers: from(victim) })
    const replay = await verify(gw, key, token, { p, headers: from(attacker) })
    return first.status === 200 && again.status === 200 && replay.status === 401 && replay.body.error_description === 'This DPoP proof (its jti) was already used'
  }), { numRuns: 25 })
})

t.test('forward-auth: X-Forwarded-* and X-Original-* naming another method or URI are refused 400 before any proof is believed, whichever the proof names', async (t) => {
  const gw = await startGateway(t, DPOP_ON)
  const key = dpopKey()
  const token = boundToken(key)
  const pathText = fc.stringMatching(/^\/[a-z0-9]{1,8}$/)
  await fc.assert(fc.asyncProperty(pathText, pathText, fc.constantFrom('uri', 'method'), fc.boolean(), async (a, b, which, proofForB) => {
    fc.pre(which === 'method' || a !== b)
    const headers = which === 'uri'
      ? { 'x-forwarded-uri': a, 'x-original-uri': b, 'x-forwarded-method': 'POST' }
      : { 'x-forwarded-uri': a, 'x-forwarded-method': 'POST', 'x-original-method': 'DELETE' }
    const named = which === 'uri' ? { htm: 'POST', path: proofForB ? b : a } : { htm: proofForB ? 'DELETE' : 'POST', path: a }
    const p = proof(key, { htm: named.htm, htu: `https://bank.example${named.path}`, token })
    const res = await verify(gw, key, token, { p, headers })
    return res.status === 400
  }), { numRuns: 20 })
})

t.test('RFC 9449 §11.1: a replay check that cannot answer (Redis down) is a 503, even with FAIL_MODE=open', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const gw = await startGateway(t, { ...DPOP_ON, REDIS_URL: redis.url, FAIL_MODE: 'open' })
  const key = dpopKey()
  const token = boundToken(key)
  t.equal((await verify(gw, key, token)).status, 200)
  await redis.stop()
  const res = await verify(gw, key, token)
  t.equal(res.status, 503)
  t.equal(res.body.error, 'temporarily_unavailable')
  t.equal(res.headers.get('retry-after'), '1')
})

t.test('RFC 9449 §9: nonces issued by one replica are accepted by another (DPOP_NONCE=true)', async (t) => {
  const redis = await sharedRedis(t)
  const env = { ...DPOP_ON, DPOP_NONCE: 'true', DPOP_NONCE_SECRET: NONCE_SECRET, ...redis.env() }
  const a = await startGateway(t, env)
  const b = await startGateway(t, env)
  const key = dpopKey()
  const token = boundToken(key)
  const first = await verify(a, key, token)
  t.equal(first.status, 401)
  t.equal(first.body.error, 'use_dpop_nonce')
  t.match(first.headers.get('www-authenticate'), /^DPoP realm="tokengate", error="use_dpop_nonce"/)
  const nonce = first.headers.get('dpop-nonce')
  t.ok(nonce !== null && nonce !== '', 'a DPoP-Nonce header')
  t.equal((await verify(b, key, token, { nonce: nonce ?? '' })).status, 200, 'replica B accepts A\'s nonce')
  const forged = await verify(b, key, token, { nonce: `${(nonce ?? '').split('.')[0]}.forged` })
  t.equal(forged.status, 401)
  t.equal(forged.body.error, 'use_dpop_nonce')
  const other = await startGateway(t, { ...env, DPOP_NONCE_SECRET: 'another-secret-of-at-least-32-bytes-long' })
  t.equal((await verify(other, key, token, { nonce: nonce ?? '' })).status, 401, 'a replica with another secret does not')
})
