import { randomUUID, sign as cryptoSign, type KeyObject } from 'node:crypto'
import t from 'tap'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { call, type JsonResponse } from '../helpers/http.js'
import { AUDIENCE, LOGOUT_KID, startLogoutProvider, type LogoutProvider } from '../helpers/oidc-provider.js'
import { sharedRedis } from '../helpers/redis.js'
import { scrape, valueOf } from '../helpers/scrape.js'
import { b64 } from '../helpers/tokens.js'
import { until } from '../helpers/until.js'
import { accessToken, OTHER_KEY, verifyStatus } from './backchannel-fixture.js'

// The endpoint's public URL: the dedicated audience of the requests' bearer JWTs.
const ENDPOINT = 'https://api.example.com/auth/global-token-revocation'
const redis = await sharedRedis(t)
const nowS = (): number => Math.floor(Date.now() / 1000)

interface Setup { readonly idp: LogoutProvider, readonly partner: LogoutProvider, readonly a: Gateway, readonly b: Gateway }

/** The identity provider (Okta's role) and a partner issuer; two replicas trusting both; the IdP may revoke its own users. */
async function setup (t: Parameters<typeof startGateway>[0], revocation: Record<string, unknown> = {}): Promise<Setup> {
  const idp = await startLogoutProvider(t, 'http://127.0.0.1:9/unused')
  const partner = await startLogoutProvider(t, 'http://127.0.0.1:9/unused')
  const env = {
    NODE_ENV: 'development',
    JWT_SECRET: '',
    LOG_LEVEL: 'warn',
    ...redis.env(),
    JWT_ISSUERS: JSON.stringify([
      { issuer: idp.issuer, discovery: true, audience: AUDIENCE, global_token_revocation: { audience: ENDPOINT, ...revocation } },
      { issuer: partner.issuer, discovery: true, audience: AUDIENCE }
    ])
  }
  return { idp, partner, a: await startGateway(t, env), b: await startGateway(t, env) }
}

/** The request's bearer JWT, draft -06 §3.5 (private_key_jwt shape), signed with the IdP's ID-token key. */
function callerJwt (idp: LogoutProvider, claims: Record<string, unknown> = {}, key: KeyObject = idp.privateKey): string {
  const payload: Record<string, unknown> = { iss: idp.issuer, sub: 'okta-universal-logout', aud: ENDPOINT, jti: randomUUID(), iat: nowS(), exp: nowS() + 300, ...claims }
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name]
  const input = `${b64({ alg: 'RS256', kid: LOGOUT_KID, typ: 'JWT' })}.${b64(payload)}`
  return `${input}.${cryptoSign('sha256', Buffer.from(input), key).toString('base64url')}`
}

async function revoke (gw: Gateway, bearer: string | null, body: unknown, contentType = 'application/json'): Promise<JsonResponse> {
  return await call(`${gw.url}/auth/global-token-revocation`, {
    method: 'POST',
    headers: { 'content-type': contentType, ...(bearer !== null && { authorization: `Bearer ${bearer}` }) },
    body: typeof body === 'string' ? body : JSON.stringify(body)
  })
}

t.test('draft §3.2-3.4: an iss_sub subject revokes every token of that user on every replica: 204; other users and the same sub of another issuer pass', async (t) => {
  const { idp, partner, a, b } = await setup(t)
  const alice = [accessToken(idp, 'alice', 'laptop'), accessToken(idp, 'alice', 'phone')]
  const bob = accessToken(idp, 'bob', 'bob-laptop')
  const partnerAlice = accessToken(partner, 'alice', 'partner-session')
  const res = await revoke(a, callerJwt(idp), { sub_id: { format: 'iss_sub', iss: idp.issuer, sub: 'alice' } })
  t.equal(res.status, 204)
  t.equal(res.headers.get('cache-control'), 'no-store')
  for (const token of alice) t.equal(await verifyStatus(b, token), 401, 'alice refused on the other replica')
  t.equal(await verifyStatus(b, bob), 200)
  t.equal(await verifyStatus(b, partnerAlice), 200, 'alice of another issuer is another user')
  const metrics = await scrape(a.url)
  t.equal(valueOf(metrics, 'tokengate_revocations_total', { kind: 'user', reason: 'global_token_revocation' }), 1)
  t.ok(a.logs.some((line) => line.includes('"idp_revocation"') && line.includes('global_token_revocation:iss_sub:stored')), 'audited')
})

t.test('an email subject: mapped where the issuer\'s tokens carry the email as sub (email_is_sub); refused 400 and alerted where they do not, never a silent accept', async (t) => {
  const mapped = await setup(t, { email_is_sub: true })
  const byEmail = accessToken(mapped.idp, 'carol@example.com', 's1')
  t.equal((await revoke(mapped.a, callerJwt(mapped.idp), { sub_id: { format: 'email', email: 'carol@example.com' } })).status, 204)
  t.equal(await verifyStatus(mapped.b, byEmail), 401)

  const unmapped = await setup(t)
  const uuid = accessToken(unmapped.idp, '6f1c9c1e-0000-4000-8000-000000000001', 's1')
  const res = await revoke(unmapped.a, callerJwt(unmapped.idp), { sub_id: { format: 'email', email: 'dave@example.com' } })
  t.equal(res.status, 400)
  t.equal(res.body.error_description, 'The subject identifier cannot be mapped to this issuer\'s tokens (iss_sub; email only where the issuer\'s tokens carry it as sub)')
  t.equal(await verifyStatus(unmapped.a, uuid), 200)
  t.ok(await until(() => unmapped.a.logs.some((line) => line.includes('invalid_idp_message') && line.includes('cannot be mapped')), 2000), 'alerted, naming why')
})

t.test('draft §7.1: a caller revokes only users of the issuers it speaks for: another issuer\'s subject is 403', async (t) => {
  const { idp, partner, a } = await setup(t)
  const partnerAlice = accessToken(partner, 'alice', 'p1')
  const res = await revoke(a, callerJwt(idp), { sub_id: { format: 'iss_sub', iss: partner.issuer, sub: 'alice' } })
  t.equal(res.status, 403)
  t.equal(res.body.error, 'insufficient_scope')
  t.equal(await verifyStatus(a, partnerAlice), 200)
})

t.test('draft §3.5: the bearer JWT is checked (401) before anything is revoked', async (t) => {
  const { idp, a } = await setup(t)
  const victim = accessToken(idp, 'erin', 'e1')
  const body = { sub_id: { format: 'iss_sub', iss: idp.issuer, sub: 'erin' } }
  const cases: Array<[string, string | null]> = [
    ['no bearer token', null],
    ['forged: another key under the IdP\'s kid', callerJwt(idp, {}, OTHER_KEY)],
    ['aud is not this endpoint', callerJwt(idp, { aud: 'https://elsewhere.example/global-token-revocation' })],
    ['a user\'s access token of the API (aud orders-api)', accessToken(idp, 'erin', 'e1')],
    ['expired', callerJwt(idp, { iat: nowS() - 120, exp: nowS() - 60 })],
    ['no exp', callerJwt(idp, { exp: undefined })],
    ['iat too old', callerJwt(idp, { iat: nowS() - 3600 })],
    ['no jti', callerJwt(idp, { jti: undefined })]
  ]
  for (const [what, bearer] of cases) {
    const res = await revoke(a, bearer, body)
    t.equal(res.status, 401, what)
    t.equal(res.body.error, 'invalid_token', what)
    t.ok(res.headers.get('www-authenticate')?.startsWith('Bearer'), `${what}: an RFC 6750 challenge`)
  }
  t.equal(await verifyStatus(a, victim), 200, 'nothing revoked')
  const once = callerJwt(idp)
  t.equal((await revoke(a, once, body)).status, 204)
  const replay = await revoke(a, once, body)
  t.equal(replay.status, 401, 'a bearer JWT is used once (its jti)')
  t.equal(replay.body.error_description, 'This revocation request\'s bearer JWT (its jti) was already used')
})

t.test('draft §3.4.2: a malformed or unsupported subject is 400, a body that is not JSON 415', async (t) => {
  const { idp, a } = await setup(t)
  const bodies: Array<[string, unknown]> = [
    ['no sub_id', {}],
    ['sub_id not an object', { sub_id: 'alice' }],
    ['no format', { sub_id: { sub: 'alice' } }],
    ['iss_sub without sub', { sub_id: { format: 'iss_sub', iss: idp.issuer } }],
    ['opaque: not a subject of any token tokengate can name', { sub_id: { format: 'opaque', id: 'U123' } }],
    ['an unknown format', { sub_id: { format: 'phone_number', phone_number: '+12065550100' } }]
  ]
  for (const [what, body] of bodies) {
    const res = await revoke(a, callerJwt(idp), body)
    t.equal(res.status, 400, what)
    t.equal(res.body.error, 'invalid_request', what)
  }
  t.equal((await revoke(a, callerJwt(idp), 'sub_id=alice', 'application/x-www-form-urlencoded')).status, 415)
})
