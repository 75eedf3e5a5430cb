import { generateKeyPairSync } from 'node:crypto'
import t, { type Test } from 'tap'
import { Failures } from '../../src/errors.js'
import { BACKCHANNEL_LOGOUT_EVENT } from '../../src/idp/logout-token.js'
import { scrape, valueOf } from '../helpers/scrape.js'
import { accessToken, logoutSetup, logoutToken, OTHER_KEY, postLogout, verifyStatus } from './backchannel-fixture.js'

// One provider and gateway pair for the file (memory store): each case only posts a token.
const { provider, a } = await logoutSetup(t)
const nowS = (): number => Math.floor(Date.now() / 1000)

interface Case { readonly rule: string, readonly token: () => string, readonly code: string, readonly description?: RegExp }

const CASES: readonly Case[] = [
  { rule: '§2.6 step 2: signed by another key under the issuer\'s kid (forged)', token: () => logoutToken(provider, { key: OTHER_KEY }), code: 'TG_ERR_LOGOUT_TOKEN_SIGNATURE' },
  { rule: '§2.6 step 3: an HMAC alg (never an ID-token alg here)', token: () => logoutToken(provider, { algorithm: 'HS256' }), code: 'TG_ERR_LOGOUT_TOKEN_SIGNATURE', description: /alg/ },
  { rule: '§2.6 step 3: alg none', token: () => `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'logout+jwt' })).toString('base64url')}.${logoutToken(provider).split('.')[1]}.`, code: 'TG_ERR_LOGOUT_TOKEN_SIGNATURE', description: /alg/ },
  { rule: '§2.6 step 4: iss of no configured issuer', token: () => logoutToken(provider, { claims: { iss: 'https://elsewhere.example' } }), code: 'TG_ERR_LOGOUT_TOKEN_ISSUER' },
  { rule: '§2.6 step 4: aud names none of the configured client ids (wrong audience)', token: () => logoutToken(provider, { claims: { aud: 'another-client' } }), code: 'TG_ERR_LOGOUT_TOKEN_CLAIMS', description: /aud/ },
  { rule: '§2.6 step 4: aud missing', token: () => logoutToken(provider, { claims: { aud: undefined } }), code: 'TG_ERR_LOGOUT_TOKEN_CLAIMS', description: /aud/ },
  { rule: '§2.6 step 4: iat missing', token: () => logoutToken(provider, { claims: { iat: undefined } }), code: 'TG_ERR_LOGOUT_TOKEN_CLAIMS', description: /no iat/ },
  { rule: '§2.6 step 4: iat stale (older than BACKCHANNEL_LOGOUT_MAX_AGE)', token: () => logoutToken(provider, { claims: { iat: nowS() - 3600 } }), code: 'TG_ERR_LOGOUT_TOKEN_CLAIMS', description: /too long ago/ },
  { rule: '§2.6 step 4: iat in the future', token: () => logoutToken(provider, { claims: { iat: nowS() + 600 } }), code: 'TG_ERR_LOGOUT_TOKEN_CLAIMS', description: /future/ },
  { rule: '§2.4/§2.6 step 4: exp missing (required in 1.0 final)', token: () => logoutToken(provider, { claims: { exp: undefined } }), code: 'TG_ERR_LOGOUT_TOKEN_CLAIMS', description: /no exp/ },
  { rule: '§2.6 step 4: expired', token: () => logoutToken(provider, { claims: { iat: nowS() - 200, exp: nowS() - 100 } }), code: 'TG_ERR_LOGOUT_TOKEN_CLAIMS', description: /expired/ },
  { rule: '§2.4: jti missing', token: () => logoutToken(provider, { claims: { jti: undefined } }), code: 'TG_ERR_LOGOUT_TOKEN_CLAIMS', description: /jti/ },
  { rule: '§2.6 step 5: neither sid nor sub', token: () => logoutToken(provider, { claims: { sid: undefined, sub: undefined } }), code: 'TG_ERR_LOGOUT_TOKEN_SUBJECT' },
  { rule: '§2.6 step 6: events missing', token: () => logoutToken(provider, { claims: { events: undefined } }), code: 'TG_ERR_LOGOUT_TOKEN_EVENT' },
  { rule: '§2.6 step 6: events without the back-channel logout member', token: () => logoutToken(provider, { claims: { events: { 'https://schemas.openid.net/secevent/caep/event-type/session-revoked': {} } } }), code: 'TG_ERR_LOGOUT_TOKEN_EVENT' },
  { rule: '§2.4: the event member is not a JSON object', token: () => logoutToken(provider, { claims: { events: { [BACKCHANNEL_LOGOUT_EVENT]: true } } }), code: 'TG_ERR_LOGOUT_TOKEN_EVENT' },
  { rule: '§2.6 step 7: a nonce', token: () => logoutToken(provider, { claims: { nonce: 'n-0S6_WzA2Mj' } }), code: 'TG_ERR_LOGOUT_TOKEN_NONCE' },
  { rule: '§2.4: typ other than logout+jwt (an ID token\'s JWT)', token: () => logoutToken(provider, { header: { typ: 'JWT' } }), code: 'TG_ERR_LOGOUT_TOKEN_TYP' },
  { rule: '§2.6 step 1: an encrypted (JWE) logout token', token: () => 'eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d', code: 'TG_ERR_LOGOUT_TOKEN_MALFORMED', description: /Encrypted/ },
  { rule: 'not a JWT', token: () => 'not-a-jwt', code: 'TG_ERR_LOGOUT_TOKEN_MALFORMED' }
]

// Every refusal: 400, an OAuth error body naming the rule, no-store, and nothing revoked.
async function refusedWith (t: Test, token: string, code: string, description?: RegExp): Promise<void> {
  const victim = accessToken(provider, 'alice', 'session-1')
  const res = await postLogout(a, token)
  t.equal(res.status, 400)
  t.equal(res.headers.get('cache-control'), 'no-store')
  t.equal(res.body.error, 'invalid_request')
  const failure = Object.values(Failures).find((f) => f.code === code)
  if (description === undefined) t.equal(res.body.error_description, failure?.description, code)
  else t.match(res.body.error_description, description, code)
  t.notOk(res.text.includes(token.slice(0, 20)), 'the token is not echoed')
  t.equal(await verifyStatus(a, victim), 200, 'nothing was revoked')
}

for (const { rule, token, code, description } of CASES) {
  t.test(`${rule}: 400 ${code}`, async (t) => { await refusedWith(t, token(), code, description) })
}

t.test('§2.6 step 8: a replayed logout token (same jti) is refused the second time; the first revoked the session', async (t) => {
  const victim = accessToken(provider, 'erin', 'erin-session')
  const token = logoutToken(provider, { claims: { sub: 'erin', sid: 'erin-session' } })
  t.equal((await postLogout(a, token)).status, 200)
  t.equal(await verifyStatus(a, victim), 401)
  const again = await postLogout(a, token)
  t.equal(again.status, 400)
  t.equal(again.body.error_description, 'This logout token (its jti) was already received')
})

t.test('a request without logout_token, or not a form, is refused', async (t) => {
  const missing = await postLogout(a, undefined)
  t.equal(missing.status, 400)
  t.match(missing.body.error_description, /logout_token parameter is required/)
  const json = await postLogout(a, logoutToken(provider), 'application/json')
  t.ok(json.status === 415 || json.status === 400, `JSON body refused (${json.status})`)
})

t.test('an invalid logout token naming a configured issuer raises a HIGH invalid_idp_message alert (once per issuer and reason per hour); one naming an unknown issuer does not', async (t) => {
  const before = valueOf(await scrape(a.url), 'tokengate_security_alerts_total', { type: 'invalid_idp_message' })
  t.ok(before >= 1, 'the cases above raised it')
  const forged = logoutToken(provider, { key: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey })
  await postLogout(a, forged)
  await postLogout(a, logoutToken(provider, { claims: { iss: 'https://unknown.example' } }))
  const after = await scrape(a.url)
  t.equal(valueOf(after, 'tokengate_security_alerts_total', { severity: 'HIGH', type: 'invalid_idp_message' }), before, 'the same issuer and reason again within the hour: not raised twice')
  t.ok(a.logs.some((line) => line.includes('invalid_idp_message') && line.includes(provider.issuer)), 'the alert names the issuer')
  t.ok(valueOf(after, 'tokengate_idp_messages_total', { source: 'backchannel_logout', result: 'logout_token_signature' }) >= 2, 'refusals counted by reason')
})
