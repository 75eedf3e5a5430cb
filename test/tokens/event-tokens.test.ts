import fc from 'fast-check'
import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { Failures } from '../../src/errors.js'
import { createTokenVerifier } from '../../src/tokens/verifier.js'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { PREVIOUS_SECRET, SECRET, sign } from '../helpers/tokens.js'

const LOGOUT_EVENTS = { 'http://schemas.openid.net/event/backchannel-logout': {} }

// One secret: the verifier takes its single-key shortcut and never reads the header itself.
// Two secrets: it reads the header to choose keys. Both must refuse event tokens.
const verifiers = {
  'one key': createTokenVerifier(loadConfig({ NODE_ENV: 'test', JWT_SECRET: SECRET, JWT_VERIFY_CACHE_SIZE: '0' }).jwt, null),
  'two keys': createTokenVerifier(loadConfig({ NODE_ENV: 'test', JWT_SECRET: SECRET, JWT_PREVIOUS_SECRET: PREVIOUS_SECRET }).jwt, null)
}

/** A spelling of `media` as RFC 7515 §4.1.9 allows: any case, with or without `application/`. */
function spelling (media: string): fc.Arbitrary<string> {
  return fc.tuple(fc.boolean(), fc.array(fc.boolean(), { minLength: media.length + 12, maxLength: media.length + 12 }))
    .map(([prefixed, upper]) => [...(prefixed ? `application/${media}` : media)]
      .map((c, i) => upper[i] === true ? c.toUpperCase() : c).join(''))
}

const otherClaims = fc.record({
  sid: fc.constantFrom(undefined, 's1'),
  roles: fc.constantFrom(undefined, ['admin']),
  token_type: fc.constantFrom(undefined, 'access', 'refresh'),
  scope: fc.constantFrom(undefined, 'openid orders:read')
})

for (const [name, verifier] of Object.entries(verifiers)) {
  t.test(`${name}: a typ of logout+jwt or secevent+jwt (RFC 7515 §4.1.9 spellings) is refused, whatever the claims`, async (t) => {
    await fc.assert(fc.asyncProperty(fc.oneof(spelling('logout+jwt'), spelling('secevent+jwt')), otherClaims, async (typ, claims) => {
      const result = await verifier.verify(sign({ claims, header: { typ } }))
      return !result.ok && result.failure === Failures.TOKEN_EVENT
    }), { numRuns: 200 })
    t.pass('held for every example')
  })

  t.test(`${name}: an events claim is refused whatever its value, the typ or the other claims`, async (t) => {
    const typs = fc.constantFrom(undefined, 'JWT', 'at+jwt', 'application/at+jwt')
    await fc.assert(fc.asyncProperty(fc.jsonValue(), typs, otherClaims, async (events, typ, claims) => {
      const token = sign({ claims: { ...claims, events }, header: typ === undefined ? {} : { typ } })
      const result = await verifier.verify(token)
      return !result.ok && result.failure === Failures.TOKEN_EVENT
    }), { numRuns: 200 })
    t.pass('held for every example')
  })

  t.test(`${name}: other typ values and tokens without events still verify`, async (t) => {
    const typs = fc.constantFrom('JWT', 'at+jwt', 'application/at+jwt', 'logout+jwt2', 'secevent', 'jwt+logout', 'application/logout+jwt+x')
    await fc.assert(fc.asyncProperty(typs, otherClaims, async (typ, claims) => {
      return (await verifier.verify(sign({ claims, header: { typ } }))).ok
    }), { numRuns: 100 })
    t.pass('held for every example')
  })
}

t.test('a back-channel logout token sent as a bearer token is a 401 naming TG_ERR_TOKEN_EVENT, and its roles grant nothing', async (t) => {
  const gw = await startGateway(t)
  const logoutToken = sign({ claims: { sid: 's1', events: LOGOUT_EVENTS, roles: ['admin'] }, header: { typ: 'logout+jwt' } })
  const res = await call(`${gw.url}/auth/verify`, { token: logoutToken })
  t.equal(res.status, 401)
  t.equal(res.body.error, 'invalid_token')
  t.equal(res.body.error_description, Failures.TOKEN_EVENT.description)
  t.equal((await call(`${gw.url}/admin/alerts`, { token: logoutToken })).status, 401, 'its roles grant nothing')
  t.equal((await call(`${gw.url}/auth/verify`, { token: sign({ claims: { sid: 's1' } }) })).status, 200)
})
