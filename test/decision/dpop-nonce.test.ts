import fc from 'fast-check'
import t, { type Test } from 'tap'
import { DpopNonces, NONCE_STEP_S } from '../../src/decision/dpop-nonce.js'
import { manualClock, steppingClock } from '../helpers/clock.js'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { call, type JsonResponse } from '../helpers/http.js'
import { boundToken, dpopKey, proof, type DpopKey } from '../helpers/dpop.js'
import { scrape, valueOf } from '../helpers/scrape.js'
import { startUpstream } from '../helpers/upstream.js'

const SECRET = 'a-nonce-secret-of-at-least-32-bytes-long!'
const STEP_MS = NONCE_STEP_S * 1000
const ORIGIN = 'https://api.example'
const NONCES = { DPOP: 'true', DPOP_NONCE: 'true', DPOP_NONCE_SECRET: SECRET, DPOP_ORIGINS: ORIGIN, METRICS_ON_MAIN_PORT: 'true' }

// RFC 9449 §9: a nonce is accepted in its step and the next. The MACs are cached per step; the
// cache must answer what a fresh instance computes, whatever the clock does (backwards included).
t.test('RFC 9449 §9: a nonce is current in its step, previous in the next, refused after; the per-step cache changes nothing (property)', async () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 40 }), fc.array(fc.integer({ min: -3 * STEP_MS, max: 3 * STEP_MS }), { maxLength: 20 }), (start, moves) => {
    const clock = manualClock(start)
    const cached = new DpopNonces(SECRET, clock.now)
    const issued = [{ nonce: cached.current(), step: Math.floor(start / STEP_MS) }]
    for (const move of moves) {
      clock.advance(move)
      const step = Math.floor(clock.now() / STEP_MS)
      const fresh = new DpopNonces(SECRET, clock.now)
      if (cached.current() !== fresh.current()) return false
      for (const { nonce, step: of } of issued) {
        const expected = of === step ? 'current' : of === step - 1 ? 'previous' : null
        if (cached.age(nonce) !== expected || fresh.age(nonce) !== expected) return false
      }
      if (cached.age(`${step.toString(36)}.${'A'.repeat(32)}`) !== null) return false
      issued.push({ nonce: cached.current(), step })
    }
    return true
  }))
})

type Clock = ReturnType<typeof steppingClock>

/** A proof made on the gateway's clock (the client's is in step with it), with `nonce`. */
async function withNonce (clock: Clock, url: string, key: DpopKey, token: string, htm: string, htu: string, nonce: string | undefined, headers: Record<string, string> = {}): Promise<JsonResponse> {
  const iat = Math.floor(clock.now() / 1000)
  return await call(url, { method: htm, headers: { ...headers, authorization: `DPoP ${token}`, dpop: proof(key, { htm, htu, token, nonce, iat }) } })
}

/**
 * One client across a step boundary, whichever way it reaches tokengate: after its first
 * use_dpop_nonce, every answer that matters hands it the next nonce before its own expires.
 */
async function followsAcrossSteps (t: Test, gw: Gateway, clock: Clock, ask: (nonce: string | undefined) => Promise<JsonResponse>): Promise<void> {
  const first = await ask(undefined)
  t.equal(first.status, 401, 'no nonce: use_dpop_nonce')
  const issued = first.headers.get('dpop-nonce') ?? ''
  const current = await ask(issued)
  t.equal(current.status, 200)
  t.equal(current.headers.get('dpop-nonce'), null, 'a proof on the current nonce: none handed out')
  clock.cross()
  const behind = await ask(issued)
  t.equal(behind.status, 200, 'the previous step\'s nonce is still accepted (§9)')
  const next = behind.headers.get('dpop-nonce')
  t.ok(next !== null && next !== issued, 'and the answer hands out the current one (§8.2)')
  t.equal((await ask(next ?? '')).headers.get('dpop-nonce'), null, 'on the new one: none again')
  clock.cross()
  t.equal((await ask(next ?? '')).status, 200, 'a client that took it passes a second boundary')
  t.equal((await ask(issued)).status, 401, 'the first nonce, two steps old, is refused')
  t.equal(valueOf(await scrape(gw.url), 'tokengate_dpop_failures_total', { reason: 'dpop_nonce' }), 2, 'use_dpop_nonce only at the first request and for the stale nonce')
}

t.test('proxy mode, RFC 9449 §8.2: an allowed request on the previous step\'s nonce gets the current one on the upstream\'s answer, which cannot override it', async (t) => {
  const upstream = await startUpstream(t)
  upstream.handle((_req, res) => { res.setHeader('dpop-nonce', 'the-upstream-s-own'); res.end('{}') })
  const clock = steppingClock(STEP_MS)
  const gw = await startGateway(t, { ...NONCES, UPSTREAM_URL: upstream.url }, { now: clock.now })
  const key = dpopKey()
  const token = boundToken(key)
  const ask = async (nonce: string | undefined): Promise<JsonResponse> => await withNonce(clock, `${gw.url}/orders/1`, key, token, 'GET', `${ORIGIN}/orders/1`, nonce)
  const first = await ask(undefined)
  const issued = first.headers.get('dpop-nonce') ?? ''
  t.equal((await ask(issued)).headers.get('dpop-nonce'), 'the-upstream-s-own', 'nothing to hand out: the upstream\'s own passes unchanged')
  clock.cross()
  t.equal((await ask(issued)).headers.get('dpop-nonce'), (await ask(undefined)).headers.get('dpop-nonce'), 'tokengate\'s current nonce, not the upstream\'s')
})

t.test('proxy mode: a client following DPoP-Nonce crosses step boundaries without another use_dpop_nonce', async (t) => {
  const upstream = await startUpstream(t)
  const clock = steppingClock(STEP_MS)
  const gw = await startGateway(t, { ...NONCES, UPSTREAM_URL: upstream.url }, { now: clock.now })
  const key = dpopKey()
  const token = boundToken(key)
  await followsAcrossSteps(t, gw, clock, async (nonce) => await withNonce(clock, `${gw.url}/orders/1`, key, token, 'POST', `${ORIGIN}/orders/1`, nonce))
})

t.test('forward-auth mode: the 200 answer carries the current nonce for a proof on the previous one', async (t) => {
  const clock = steppingClock(STEP_MS)
  const gw = await startGateway(t, NONCES, { now: clock.now })
  const key = dpopKey()
  const token = boundToken(key)
  const original = { 'x-forwarded-method': 'GET', 'x-forwarded-uri': '/orders/1', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example' }
  await followsAcrossSteps(t, gw, clock, async (nonce) => await withNonce(clock, `${gw.url}/auth/verify`, key, token, 'GET', `${ORIGIN}/orders/1`, nonce, original))
})

t.test('token routes: a guarded route\'s success carries the current nonce for a proof on the previous one', async (t) => {
  const clock = steppingClock(STEP_MS)
  const gw = await startGateway(t, { ...NONCES, RESOURCE_URL: `${ORIGIN}/` }, { now: clock.now })
  const key = dpopKey()
  const token = boundToken(key)
  await followsAcrossSteps(t, gw, clock, async (nonce) => await withNonce(clock, `${gw.url}/auth/token/validate`, key, token, 'GET', `${ORIGIN}/auth/token/validate`, nonce))
})
