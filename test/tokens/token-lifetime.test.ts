import { createSigner } from 'fast-jwt'
import fc from 'fast-check'
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { keyPair, nowS, signRaw } from '../helpers/tokens.js'

// Issue 16 §2: every mark is sized from JWT_MAX_TOKEN_LIFETIME, so no token may live longer.
const DAY = 86_400
const TOLERANCE = 5
const idp = keyPair('ec')
const signIdp = createSigner({ key: idp.privatePem, algorithm: 'ES256' })
const outsideEnv = { JWT_SECRET: undefined, JWT_ALGORITHMS: 'ES256', JWT_PUBLIC_KEYS: idp.publicPem }

async function verify (gw: Gateway, token: string): Promise<{ status: number, code: string }> {
  const res = await call(`${gw.url}/auth/verify`, { token })
  return { status: res.status, code: res.headers.get('x-tokengate-error') ?? res.body?.error_description ?? '' }
}

t.test('a 90-day token from an outside issuer is refused by default (TG_ERR_TOKEN_LIFETIME) and accepted once JWT_MAX_TOKEN_LIFETIME allows it', async (t) => {
  const now = nowS()
  const service = signIdp({ sub: 'svc-1', jti: randomUUID(), iat: now, exp: now + 90 * DAY })
  const strict = await startGateway(t, outsideEnv)
  const refused = await call(`${strict.url}/auth/verify`, { token: service })
  t.equal(refused.status, 401)
  t.match(refused.body, { error: 'invalid_token', error_description: 'The token lives longer than this gateway accepts' })
  t.equal((await verify(strict, signIdp({ sub: 'svc-1', jti: randomUUID(), iat: now, exp: now + 7 * DAY }))).status, 200, 'the default maximum (the refresh lifetime) is accepted')
  const raised = await startGateway(t, { ...outsideEnv, JWT_MAX_TOKEN_LIFETIME: '90d' })
  t.equal((await verify(raised, service)).status, 200)
  t.equal((await verify(raised, signIdp({ sub: 'svc-1', jti: randomUUID(), iat: now - 10, exp: now + 90 * DAY }))).status, 401, 'one second more than the maximum is refused')
})

t.test('property: a token passes only within the maximum lifetime, so no accepted exp reaches 2^32', async (t) => {
  const gw = await startGateway(t, { LOG_LEVEL: 'warn' })
  const max = gw.config.jwt.maxTokenLifetimeS
  // Mostly near the boundaries (iat around now, lifetimes around the maximum), plus any exp up to 2^34.
  const times = fc.record({
    iatOffset: fc.oneof({ arbitrary: fc.integer({ min: -max, max: TOLERANCE + 2 }), weight: 4 }, fc.integer({ min: -(2 ** 33), max: 2 ** 33 })),
    lifetime: fc.oneof({ arbitrary: fc.integer({ min: 1, max: max + 2 * TOLERANCE }), weight: 4 }, fc.integer({ min: 0, max: 2 ** 34 })),
    absoluteExp: fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, fc.integer({ min: 2 ** 32 - 10, max: 2 ** 32 + 10 }), fc.integer({ min: 0, max: 2 ** 34 }))
  })
  let accepted = 0
  await fc.assert(fc.asyncProperty(times, async ({ iatOffset, lifetime, absoluteExp }) => {
    const now = nowS()
    const iat = now + iatOffset
    const exp = absoluteExp ?? iat + lifetime
    const { status } = await verify(gw, signRaw({ sub: 'u', jti: randomUUID(), iat, exp }))
    if (status === 200) {
      accepted++
      if (exp >= 2 ** 32) throw new Error(`exp ${exp} was accepted`)
      if (exp - iat > max || exp - now > max + TOLERANCE + 1) throw new Error(`iat ${iat} exp ${exp} lives longer than ${max}s`)
    } else if (status !== 401) throw new Error(`status ${status}`)
  }), { numRuns: 300 })
  t.ok(accepted > 30, `${accepted} of 300 accepted, none past the maximum`)
})
