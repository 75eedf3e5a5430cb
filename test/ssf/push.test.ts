import { randomUUID } from 'node:crypto'
import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { CAEP, pushSet, RISC, SSF_EVENT, TestTransmitter } from '../helpers/ssf-transmitter.js'
import { sharedRedis } from '../helpers/redis.js'
import { untilValue } from '../helpers/until.js'
import { issSub, PUSH_AUTHORIZATION, ssfEnv, statusOf, tokenOf } from './ssf-env.js'

const USER_WIDE = [`${CAEP}credential-change`, `${RISC}account-disabled`, `${RISC}account-purged`, `${RISC}credential-compromise`, `${RISC}sessions-revoked`]

t.test('push (RFC 8935)', async (t) => {
  const redis = await sharedRedis(t)
  const transmitter = await TestTransmitter.start(t)
  const gateway = await startGateway(t, { ...ssfEnv(transmitter), ...redis.env() })
  const url = `${gateway.url}/auth/ssf/events`

  t.test('CAEP session-revoked (complex subject) revokes that session; the user\'s other session still passes', async (t) => {
    const sub = randomUUID()
    const revoked = tokenOf(sub, 'session-a')
    const other = tokenOf(sub, 'session-b')
    t.equal(await statusOf(gateway.app, revoked), 200)
    const set = transmitter.sign({ [`${CAEP}session-revoked`]: { event_timestamp: Math.floor(Date.now() / 1000) } }, { claims: { sub_id: { format: 'complex', user: issSub(sub), session: { format: 'opaque', id: 'session-a' } } } })
    const answer = await pushSet(url, set, PUSH_AUTHORIZATION)
    t.equal(answer.status, 202, `RFC 8935 §2.2: 202 Accepted once stored ${JSON.stringify(answer.body)}`)
    t.equal(await statusOf(gateway.app, revoked), 401, 'the session\'s token is refused')
    t.equal(await statusOf(gateway.app, other), 200, 'another session of the same user still passes')
  })

  for (const type of USER_WIDE) {
    t.test(`${type.slice(type.lastIndexOf('/') + 1)} revokes every token of the user issued until now (RS256 SET)`, async (t) => {
      const sub = randomUUID()
      const tokens = [tokenOf(sub), tokenOf(sub)]
      const bystander = tokenOf(randomUUID())
      const set = transmitter.sign({ [type]: {} }, { alg: 'RS256', claims: { sub_id: issSub(sub) } })
      t.equal((await pushSet(url, set, PUSH_AUTHORIZATION)).status, 202)
      for (const token of tokens) t.equal(await statusOf(gateway.app, token), 401)
      t.equal(await statusOf(gateway.app, bystander), 200, 'another user is untouched')
    })
  }

  t.test('the subject inside the event (CAEP/RISC before SSF 1.0) is read too', async (t) => {
    const sub = randomUUID()
    const token = tokenOf(sub)
    const set = transmitter.sign({ [`${RISC}account-disabled`]: { subject: { format: 'opaque', id: sub } } })
    t.equal((await pushSet(url, set, PUSH_AUTHORIZATION)).status, 202)
    t.equal(await statusOf(gateway.app, token), 401)
  })

  t.test('aliases: every identifier that maps is revoked (RFC 9493 §3.2.1)', async (t) => {
    const sub = randomUUID()
    const token = tokenOf(sub)
    const set = transmitter.sign({ [`${RISC}credential-compromise`]: {} }, { claims: { sub_id: { format: 'aliases', identifiers: [{ format: 'email', email: 'a@example.com' }, { format: 'opaque', id: sub }] } } })
    t.equal((await pushSet(url, set, PUSH_AUTHORIZATION)).status, 202)
    t.equal(await statusOf(gateway.app, token), 401)
  })

  t.test('an unknown event type is acknowledged and ignored (counted)', async (t) => {
    const sub = randomUUID()
    const token = tokenOf(sub)
    const set = transmitter.sign({ [`${CAEP}token-claims-change`]: { claims: {} } }, { claims: { sub_id: issSub(sub) } })
    t.equal((await pushSet(url, set, PUSH_AUTHORIZATION)).status, 202)
    t.equal(await statusOf(gateway.app, token), 200, 'nothing revoked')
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text()
    t.match(metrics, /tokengate_ssf_events_total\{delivery="push",event="other",outcome="ignored"\} 1/)
  })

  t.test('a verification event is acknowledged (SSF 1.0 §8.1.4)', async (t) => {
    const set = transmitter.sign({ [`${SSF_EVENT}verification`]: { state: 'abc' } }, { claims: { sub_id: { format: 'opaque', id: 'stream-1' } } })
    t.equal((await pushSet(url, set, PUSH_AUTHORIZATION)).status, 202)
  })

  t.test('a replayed SET is acknowledged but never applied again (RFC 8417 §2.2 jti)', async (t) => {
    const sub = randomUUID()
    const set = transmitter.sign({ [`${RISC}sessions-revoked`]: {} }, { claims: { sub_id: issSub(sub) } })
    const written = async (): Promise<number> => Number(/tokengate_idp_revocations_total\{source="ssf_push",kind="user",outcome="stored"\} (\d+)/.exec(await (await fetch(`${gateway.url}/metrics`)).text())?.[1] ?? 0)
    t.equal((await pushSet(url, set, PUSH_AUTHORIZATION)).status, 202)
    const before = await written()
    // A replay later would move "revoked before" forward over tokens issued since: it must write nothing.
    t.equal((await pushSet(url, set, PUSH_AUTHORIZATION)).status, 202, 'a retransmission is acknowledged')
    t.equal(await written(), before, 'and writes no revocation')
    t.match(await (await fetch(`${gateway.url}/metrics`)).text(), /tokengate_idp_messages_total\{source="ssf_push",result="duplicate"\} 1/)
  })

  t.test('RFC 8935 §2.3 errors: each with its err code', async (t) => {
    const sub = randomUUID()
    const events = { [`${RISC}account-disabled`]: {} }
    const claims = { sub_id: issSub(sub) }
    const cases: Array<[string, string, number, string]> = [
      ['wrong audience', transmitter.sign(events, { claims: { ...claims, aud: 'someone-else' } }), 400, 'invalid_audience'],
      ['unknown key', transmitter.sign(events, { claims, foreignKey: true }), 400, 'invalid_key'],
      ['typ JWT', transmitter.sign(events, { claims, header: { typ: 'JWT' } }), 400, 'invalid_request'],
      ['no events', transmitter.sign(events, { claims: { ...claims, events: undefined } }), 400, 'invalid_request'],
      ['no jti', transmitter.sign(events, { claims: { ...claims, jti: undefined } }), 400, 'invalid_request'],
      ['another issuer', transmitter.sign(events, { claims: { ...claims, iss: 'https://evil.example' } }), 400, 'invalid_issuer'],
      ['issued before the replay window', transmitter.sign(events, { claims: { ...claims, iat: Math.floor(Date.now() / 1000) - 8 * 86_400 } }), 400, 'invalid_request'],
      ['not a JWS', 'not-a-jwt', 400, 'invalid_request']
    ]
    for (const [what, set, status, err] of cases) {
      const answer = await pushSet(url, set, PUSH_AUTHORIZATION)
      t.equal(answer.status, status, what)
      t.equal((answer.body as { err?: string }).err, err, `${what}: err ${err}`)
      t.type((answer.body as { description?: string }).description, 'string')
    }
    const token = tokenOf(sub)
    t.equal(await statusOf(gateway.app, token), 200, 'no refused SET revoked anything')
    const unauthenticated = await pushSet(url, transmitter.sign(events, { claims }), 'Bearer wrong')
    t.same([unauthenticated.status, (unauthenticated.body as { err: string }).err], [401, 'authentication_failed'], 'a wrong Authorization header: 401 authentication_failed')
    t.equal((await pushSet(url, transmitter.sign(events, { claims }), PUSH_AUTHORIZATION, 'application/json')).status, 400, 'another media type is refused')
    t.notOk(gateway.logs.join('\n').includes(PUSH_AUTHORIZATION.slice(7)), 'the push secret is never logged')
  })

  t.test('an invalid SET from a configured transmitter raises invalid_idp_message', async (t) => {
    const alerts = await untilValue(async () => (await fetch(`${gateway.url}/metrics`)).text(), (text) => /tokengate_security_alerts_total\{severity="HIGH",type="invalid_idp_message"\} [1-9]/.test(text))
    t.match(alerts, /type="invalid_idp_message"\} [1-9]/)
  })
})

t.test('a SET is never accepted as an access token (RFC 8417 §2.3; the verifier refuses events)', async (t) => {
  const transmitter = await TestTransmitter.start(t)
  const gateway = await startGateway(t, ssfEnv(transmitter))
  const { sign } = await import('../helpers/tokens.js')
  // Signed with the gateway's own key, as an access token would be: the events claim alone refuses it.
  const set = sign({ claims: { iss: 'https://idp.example.com/', events: { [`${RISC}account-disabled`]: {} } }, header: { typ: 'secevent+jwt' } })
  const res = await gateway.app.inject({ method: 'GET', url: '/auth/token/validate', headers: { authorization: `Bearer ${set}` } })
  t.equal(res.statusCode, 401)
  t.match(res.json(), { error: 'invalid_token' })
})
