import t from 'tap'
import { startGateway, type Gateway, type GatewayOptions } from '../helpers/gateway.js'
import { steppingClock } from '../helpers/clock.js'
import { NONCE_STEP_S } from '../../src/decision/dpop-nonce.js'
import { call, type JsonResponse } from '../helpers/http.js'
import { boundToken, dpopKey, proof } from '../helpers/dpop.js'
import { freePort, startRedis } from '../helpers/redis.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { scrape, valueOf } from '../helpers/scrape.js'
import { sign } from '../helpers/tokens.js'
import { Failures } from '../../src/errors.js'
import { nginxMissing, startNginx } from './nginx.js'

// Real nginx with deploy/nginx/tokengate.conf in front of the API, tokengate deciding DPoP
// proofs from the original method, URI, proto and host the recipe passes (RFC 9449 §4.3).
const skip = nginxMissing
const redis = nginxMissing === false ? await startRedis() : null
t.teardown(async () => { await redis?.stop() })

async function stack (t: { teardown: (fn: () => unknown) => void }, env: Record<string, string> = {}, options: GatewayOptions = {}): Promise<{ url: string, gw: Gateway, api: Upstream, seen: () => Record<string, string | string[] | undefined> | undefined }> {
  // DPOP_ORIGINS is the origin clients reach nginx at, as in production: known before nginx starts.
  const listen = await freePort()
  const gw = await startGateway(t, { REDIS_URL: redis?.url, DPOP: 'true', DPOP_ORIGINS: `http://127.0.0.1:${listen}`, ...env }, options)
  const api = await startUpstream(t)
  const nginx = await startNginx(t, { tokengate: Number(new URL(gw.url).port), api: api.port }, listen)
  return { url: nginx.url, gw, api, seen: () => api.seen.at(-1)?.headers }
}

t.test('nginx recipe, RFC 9449 §4.3: the proof is checked against the URI the client used; X-Token-Binding reaches the API, never the client\'s', { skip }, async (t) => {
  const { url, seen } = await stack(t)
  const key = dpopKey()
  const token = boundToken(key)
  const target = `${url}/accounts/42`
  const ok = await call(`${target}?view=full`, { method: 'POST', headers: { authorization: `DPoP ${token}`, dpop: proof(key, { htm: 'POST', htu: target, token }), 'x-token-binding': 'mtls' } })
  t.equal(ok.status, 200)
  t.equal(seen()?.['x-token-binding'], 'dpop', 'tokengate\'s value, not the client\'s')
  const other = await call(target, { headers: { authorization: `DPoP ${token}`, dpop: proof(key, { htm: 'GET', htu: 'http://other.example/accounts/42', token }) } })
  t.equal(other.status, 401, 'a proof for another URI')
  const bearer = await call(target, { headers: { authorization: `Bearer ${sign()}`, 'x-token-binding': 'dpop' } })
  t.equal(bearer.status, 200)
  t.equal(seen()?.['x-token-binding'], undefined, 'a bearer token: no binding header, the client\'s removed')
})

t.test('nginx recipe, RFC 9449 §9: the DPoP-Nonce of a use_dpop_nonce refusal reaches the client', { skip }, async (t) => {
  const { url } = await stack(t, { DPOP_NONCE: 'true', DPOP_NONCE_SECRET: 'a-nonce-secret-of-at-least-32-bytes-long!' })
  const key = dpopKey()
  const token = boundToken(key)
  const target = `${url}/accounts/1`
  const first = await call(target, { headers: { authorization: `DPoP ${token}`, dpop: proof(key, { htm: 'GET', htu: target, token }) } })
  t.equal(first.status, 401)
  const nonce = first.headers.get('dpop-nonce')
  t.ok(nonce !== null && nonce !== '', 'DPoP-Nonce passed on by nginx')
  t.match(first.headers.get('www-authenticate'), /error="use_dpop_nonce"/)
  const retry = await call(target, { headers: { authorization: `DPoP ${token}`, dpop: proof(key, { htm: 'GET', htu: target, token, nonce: nonce ?? '' }) } })
  t.equal(retry.status, 200)
})

t.test('nginx recipe, RFC 9449 §8.2: an allow on the previous step\'s nonce hands the client the current one, in place of the API\'s', { skip }, async (t) => {
  const clock = steppingClock(NONCE_STEP_S * 1000)
  const { url, api } = await stack(t, { DPOP_NONCE: 'true', DPOP_NONCE_SECRET: 'a-nonce-secret-of-at-least-32-bytes-long!' }, { now: clock.now })
  const key = dpopKey()
  const token = boundToken(key)
  const target = `${url}/accounts/3`
  const ask = async (nonce: string | undefined): Promise<JsonResponse> => await call(target, { headers: { authorization: `DPoP ${token}`, dpop: proof(key, { htm: 'GET', htu: target, token, nonce, iat: Math.floor(clock.now() / 1000) }) } })
  const issued = (await ask(undefined)).headers.get('dpop-nonce') ?? ''
  const current = await ask(issued)
  t.equal(current.status, 200)
  t.equal(current.headers.get('dpop-nonce'), null, 'on the current nonce: none')
  t.ok(current.headers.get('x-request-id'), 'the request id still reaches the client')
  clock.cross()
  const behind = await ask(issued)
  t.equal(behind.status, 200)
  const next = behind.headers.get('dpop-nonce')
  t.ok(next !== null && next !== issued, 'on the previous step\'s: the current nonce, copied by nginx from the 200 answer')
  api.handle((_req, res) => { res.setHeader('dpop-nonce', 'the-api-s-own'); res.end('{}') })
  clock.cross()
  const replaced = await ask(next ?? '')
  t.equal(replaced.status, 200, 'the client that took it passes the next boundary')
  const fresh = replaced.headers.get('dpop-nonce')
  t.ok(fresh !== null && fresh !== next && !fresh.includes('the-api-s-own'), 'tokengate\'s nonce in place of the API\'s, one header')
  const own = await ask(fresh ?? '')
  t.equal(own.headers.get('dpop-nonce'), 'the-api-s-own', 'nothing from tokengate: the API\'s own passes')
})

t.test('nginx recipe: its second question for a refusal\'s body is the same request, not a replayed proof (RFC 9449 §11.1)', { skip }, async (t) => {
  // A refusal after the proof was claimed: the token lacks the rule's scope.
  const { url, gw } = await stack(t, { RATE_LIMIT_ADMIN_PER_MIN: '0', ACCESS_RULES: JSON.stringify([{ method: 'GET', path: '/accounts/7', scopes: ['accounts:read'] }]) })
  const key = dpopKey()
  const token = boundToken(key, { sub: 'dpop-user' })
  const target = `${url}/accounts/7`
  const before = valueOf(await scrape(gw.url), 'tokengate_decisions_total', { result: 'deny', reason: 'insufficient_scope' })
  const res = await call(target, { headers: { authorization: `DPoP ${token}`, dpop: proof(key, { htm: 'GET', htu: target, token }) } })
  t.equal(res.status, 403)
  t.same(res.body, { error: 'insufficient_scope', error_description: Failures.INSUFFICIENT_SCOPE.description }, 'the refusal tokengate made, not a replayed proof')
  await gw.app.tokengate.security.monitor.flush()
  const alerts = (await call(`${gw.url}/admin/alerts`, { token: sign({ claims: { sub: 'ops', roles: ['admin'] } }) })).body.alerts as Array<{ type: string }>
  t.same(alerts.filter((a) => a.type === 'dpop_proof_replayed'), [], 'no replay alert for nginx\'s own second question')
  t.equal(valueOf(await scrape(gw.url), 'tokengate_decisions_total', { result: 'deny', reason: 'insufficient_scope' }) - before, 1, 'one refusal counted once')
  // A real replay (another request, the same proof) is still refused.
  const good = boundToken(key, { scope: 'accounts:read' })
  const once = proof(key, { htm: 'GET', htu: target, token: good })
  t.equal((await call(target, { headers: { authorization: `DPoP ${good}`, dpop: once } })).status, 200)
  const again = await call(target, { headers: { authorization: `DPoP ${good}`, dpop: once } })
  t.equal(again.status, 401)
  t.same(again.body, { error: 'invalid_dpop_proof', error_description: Failures.DPOP_PROOF_REPLAYED.description })
})
