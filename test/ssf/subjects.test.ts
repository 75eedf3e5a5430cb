import { randomUUID } from 'node:crypto'
import fc from 'fast-check'
import t from 'tap'
import { mapSubject, isUnmapped } from '../../src/ssf/subjects.js'
import { startGateway } from '../helpers/gateway.js'
import { pushSet, RISC, TestTransmitter } from '../helpers/ssf-transmitter.js'
import { sign } from '../helpers/tokens.js'
import { untilValue } from '../helpers/until.js'
import { IDP, issSub, PUSH_AUTHORIZATION, ssfEnv, statusOf, tokenOf } from './ssf-env.js'

const MAPPING = { userFormats: ['iss_sub', 'opaque'] as const, subjectIssuers: [IDP] }

t.test('an email subject against tokens carrying a UUID sub is refused and alerted, never silently accepted', async (t) => {
  const transmitter = await TestTransmitter.start(t)
  const gateway = await startGateway(t, ssfEnv(transmitter))
  const sub = randomUUID()
  const token = sign({ claims: { iss: IDP, sub, email: 'alice@example.com' } })
  const set = transmitter.sign({ [`${RISC}account-disabled`]: {} }, { claims: { sub_id: { format: 'email', email: 'alice@example.com' } } })
  const answer = await pushSet(`${gateway.url}/auth/ssf/events`, set, PUSH_AUTHORIZATION)
  t.equal(answer.status, 400, 'RFC 8935 §2.3: an error, not 202')
  t.match(answer.body, { err: 'invalid_request', description: /cannot be mapped.*email subjects are not mapped/ })
  t.equal(await statusOf(gateway.app, token), 200, 'nothing was revoked, and the transmitter was told so')
  const metrics = await untilValue(async () => await (await fetch(`${gateway.url}/metrics`)).text(), (text) => /type="ssf_subject_unmapped"\} 1/.test(text))
  t.match(metrics, /tokengate_security_alerts_total\{severity="HIGH",type="ssf_subject_unmapped"\} 1/, 'a HIGH ssf_subject_unmapped alert')
})

t.test('subjects.user_formats [email] maps an email subject onto an IdP whose sub is the email', async (t) => {
  const transmitter = await TestTransmitter.start(t)
  const gateway = await startGateway(t, ssfEnv(transmitter, { subjects: { user_formats: ['email', 'iss_sub'] } }))
  const token = tokenOf('alice@example.com')
  const set = transmitter.sign({ [`${RISC}account-disabled`]: {} }, { claims: { sub_id: { format: 'email', email: 'alice@example.com' } } })
  t.equal((await pushSet(`${gateway.url}/auth/ssf/events`, set, PUSH_AUTHORIZATION)).status, 202)
  t.equal(await statusOf(gateway.app, token), 401)
})

t.test('an iss_sub of another issuer maps onto nothing (RFC 9493 §3.2.2: iss and sub together name the subject)', async (t) => {
  t.ok(isUnmapped(mapSubject({ format: 'iss_sub', iss: 'https://partner.example/', sub: 'alice' }, MAPPING)))
  t.same(mapSubject(issSub('alice'), MAPPING), { users: ['alice'], sessions: [] })
})

t.test('SSF 1.0 §3.2 complex subjects: the session as an opaque id, the user beside it', async (t) => {
  t.same(mapSubject({ format: 'complex', user: issSub('alice'), session: { format: 'opaque', id: 's1' } }, MAPPING), { users: ['alice'], sessions: ['s1'] })
  t.same(mapSubject({ user: { format: 'opaque', id: 'alice' } }, MAPPING), { users: ['alice'], sessions: [] }, 'a complex subject without format (CAEP before SSF 1.0)')
  t.ok(isUnmapped(mapSubject({ format: 'complex', session: { format: 'email', email: 'x@y' } }, MAPPING)), 'a session that is not an opaque id')
  t.ok(isUnmapped(mapSubject({ format: 'complex', tenant: { format: 'opaque', id: 't' } }, MAPPING)), 'neither user nor session')
})

t.test('property: a mapped identifier is always one the subject carries; nothing throws', async (t) => {
  const simple = fc.oneof(
    fc.record({ format: fc.constant('iss_sub'), iss: fc.constantFrom(IDP, 'https://other.example/'), sub: fc.string() }),
    fc.record({ format: fc.constant('opaque'), id: fc.string() }),
    fc.record({ format: fc.constant('email'), email: fc.string() }),
    fc.record({ format: fc.string(), id: fc.string() })
  )
  const subject = fc.oneof(simple, fc.record({ format: fc.constant('aliases'), identifiers: fc.array(simple, { maxLength: 20 }) }), fc.record({ format: fc.constant('complex'), user: simple, session: fc.option(fc.record({ format: fc.constant('opaque'), id: fc.string() })) }), fc.anything())
  fc.assert(fc.property(subject, (value) => {
    const mapped = mapSubject(value, MAPPING)
    if (isUnmapped(mapped)) return true
    const text = JSON.stringify(value)
    return [...mapped.users, ...mapped.sessions].every((id) => id.length > 0 && text.includes(JSON.stringify(id)))
  }))
  t.pass('held')
})
