import { createHmac, randomUUID } from 'node:crypto'
import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { pushSet, RISC, TestTransmitter } from '../helpers/ssf-transmitter.js'
import { waitFor } from '../helpers/until.js'
import { issSub, PUSH_AUTHORIZATION, ssfEnv, statusOf, tokenOf } from './ssf-env.js'

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

t.test('SET verification (RFC 8417, RFC 8725, SSF 1.0 §4)', async (t) => {
  const transmitter = await TestTransmitter.start(t)
  const gateway = await startGateway(t, { ...ssfEnv(transmitter, { algorithms: ['ES256'] }), JWKS_COOLDOWN_S: '1' })
  const url = `${gateway.url}/auth/ssf/events`
  const events = { [`${RISC}account-disabled`]: {} }
  const payload = (sub: string): Record<string, unknown> => ({ iss: transmitter.issuer, aud: transmitter.audience, jti: randomUUID(), iat: Math.floor(Date.now() / 1000), events, sub_id: issSub(sub) })

  t.test('refused: none, an HMAC forged with the public key, an algorithm not allowed, JWE, disagreeing subjects', async (t) => {
    const sub = randomUUID()
    const token = tokenOf(sub)
    const none = `${b64({ alg: 'none', typ: 'secevent+jwt' })}.${b64(payload(sub))}.`
    const confusionInput = `${b64({ alg: 'HS256', typ: 'secevent+jwt', kid: transmitter.keys.ES256.kid })}.${b64(payload(sub))}`
    const confusion = `${confusionInput}.${createHmac('sha256', transmitter.publicPem('ES256')).update(confusionInput).digest('base64url')}`
    const cases: Array<[string, string, string]> = [
      ['alg none (RFC 8725 §3.1)', none, 'invalid_key'],
      ['HS256 keyed with the published public key (algorithm confusion)', confusion, 'invalid_key'],
      ['RS256 while the entry allows ES256 only', transmitter.sign(events, { alg: 'RS256', claims: { sub_id: issSub(sub) } }), 'invalid_key'],
      ['an encrypted SET (JWE)', 'a.b.c.d.e', 'invalid_request'],
      ['sub_id and the event\'s subject disagree', transmitter.sign({ [`${RISC}account-disabled`]: { subject: issSub('someone-else') } }, { claims: { sub_id: issSub(sub) } }), 'invalid_request'],
      ['an events claim that is not an object of objects', transmitter.sign({ [`${RISC}account-disabled`]: 'yes' }, { claims: { sub_id: issSub(sub) } }), 'invalid_request'],
      ['iat in the future', transmitter.sign(events, { claims: { sub_id: issSub(sub), iat: Math.floor(Date.now() / 1000) + 3600 } }), 'invalid_request']
    ]
    for (const [what, set, err] of cases) {
      const answer = await pushSet(url, set, PUSH_AUTHORIZATION)
      t.same([answer.status, (answer.body as { err: string }).err], [400, err], what)
    }
    t.equal(await statusOf(gateway.app, token), 200, 'none of them revoked anything')
  })

  t.test('a rotated key (unknown kid) is fetched once the cooldown allows, then verifies', async (t) => {
    const sub = randomUUID()
    const token = tokenOf(sub)
    transmitter.rotate('ES256')
    const set = (): string => transmitter.sign(events, { claims: { sub_id: issSub(sub) } })
    // The first unknown kid may fall inside the 1 s cooldown after start-up; the key comes with a later one.
    await waitFor(async () => (await pushSet(url, set(), PUSH_AUTHORIZATION)).status === 202, 'a SET signed with the new key is accepted', 5000)
    t.equal(await statusOf(gateway.app, token), 401)
  })

  t.test('each revocation is audited: the event, the issuer, the subject, the source', async (t) => {
    const summary = await gateway.app.tokengate.security.auditSummary(undefined)
    t.ok((summary.events.idp_revocation?.reasons['ssf_push:account-disabled:stored'] ?? 0) >= 1, 'idp_revocation ssf_push:account-disabled:stored')
  })
})
