import { randomUUID } from 'node:crypto'
import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { sharedRedis } from '../helpers/redis.js'
import { CAEP, RISC, SSF_EVENT, TestTransmitter } from '../helpers/ssf-transmitter.js'
import { untilValue, waitFor } from '../helpers/until.js'
import { issSub, POLL_TOKEN, ssfEnv, statusOf, tokenOf } from './ssf-env.js'

const USER_WIDE = [`${CAEP}credential-change`, `${RISC}account-disabled`, `${RISC}account-purged`, `${RISC}credential-compromise`, `${RISC}sessions-revoked`]

function pollEntry (transmitter: TestTransmitter): Record<string, unknown> {
  return { delivery: { poll: { endpoint: transmitter.pollUrl, wait_s: 1, max_events: 5 } }, authorization: { bearer: POLL_TOKEN } }
}

t.test('poll (RFC 8936): every event type, acknowledged only once stored', async (t) => {
  const redis = await sharedRedis(t)
  const transmitter = await TestTransmitter.start(t)
  const gateway = await startGateway(t, { ...ssfEnv(transmitter, pollEntry(transmitter)), ...redis.env() })

  const sessionUser = randomUUID()
  const revokedSession = tokenOf(sessionUser, 'poll-session-a')
  const otherSession = tokenOf(sessionUser, 'poll-session-b')
  const session = transmitter.enqueue(transmitter.sign({ [`${CAEP}session-revoked`]: {} }, { claims: { sub_id: { format: 'complex', user: issSub(sessionUser), session: { format: 'opaque', id: 'poll-session-a' } } } }))
  const users = USER_WIDE.map((type) => {
    const sub = randomUUID()
    return { type, token: tokenOf(sub), jti: transmitter.enqueue(transmitter.sign({ [type]: {} }, { alg: 'RS256', claims: { sub_id: issSub(sub) } })) }
  })
  const ignored = transmitter.enqueue(transmitter.sign({ [`${CAEP}assurance-level-change`]: {} }, { claims: { sub_id: issSub('nobody') } }))
  const verification = transmitter.enqueue(transmitter.sign({ [`${SSF_EVENT}verification`]: { state: 's' } }, { claims: { sub_id: { format: 'opaque', id: 'stream' } } }))
  const badAudience = transmitter.enqueue(transmitter.sign({ [`${RISC}account-disabled`]: {} }, { claims: { sub_id: issSub('x'), aud: 'other' } }))
  const unmapped = transmitter.enqueue(transmitter.sign({ [`${RISC}account-disabled`]: {} }, { claims: { sub_id: { format: 'email', email: 'bob@example.com' } } }))

  await waitFor(() => transmitter.queue.size === 0 && transmitter.polls.some((poll) => poll.ack.length > 0) && transmitter.acked.has(verification), 'every SET delivered and answered')
  for (const jti of [session, ignored, verification, ...users.map((user) => user.jti)]) t.ok(transmitter.acked.has(jti), `RFC 8936 §2.4.2: ${jti.slice(0, 8)} acknowledged`)
  t.equal(await statusOf(gateway.app, revokedSession), 401, 'session-revoked by poll: the session is refused')
  t.equal(await statusOf(gateway.app, otherSession), 200, 'the user\'s other session still passes')
  for (const { type, token } of users) t.equal(await statusOf(gateway.app, token), 401, `${type.slice(type.lastIndexOf('/') + 1)} by poll revokes the user`)
  t.same(transmitter.setErrs.get(badAudience)?.err, 'invalid_audience', 'RFC 8936 §2.4.4: setErrs with the RFC 8935 code')
  t.same(transmitter.setErrs.get(unmapped)?.err, 'invalid_request', 'an unmappable subject: setErrs, never an ack')
  t.notOk(transmitter.acked.has(badAudience) || transmitter.acked.has(unmapped), 'refused SETs are never acknowledged')
  t.ok(transmitter.polls.every((poll) => poll.authorization === `Bearer ${POLL_TOKEN}`), 'every poll carries the configured bearer token')
  t.ok(transmitter.polls.every((poll) => !poll.returnImmediately && poll.maxEvents === 5), 'long polls (wait_s 1) of max_events')
  const metrics = await untilValue(async () => await (await fetch(`${gateway.url}/metrics`)).text(), (text) => /type="ssf_subject_unmapped"\} 1/.test(text))
  t.match(metrics, /tokengate_ssf_events_total\{delivery="poll",event="session-revoked",outcome="applied"\} 1/)
  t.match(metrics, /tokengate_ssf_pollers_active 1/)
})

t.test('a failing poll endpoint is retried with backoff, not in a tight loop', async (t) => {
  const transmitter = await TestTransmitter.start(t)
  transmitter.pollStatus = 500
  const gateway = await startGateway(t, ssfEnv(transmitter, pollEntry(transmitter)))
  await waitFor(() => transmitter.polls.length >= 2, 'a retry after the first failure', 5000)
  const afterRetry = transmitter.polls.length
  const metrics = await (await fetch(`${gateway.url}/metrics`)).text()
  t.match(metrics, /tokengate_ssf_polls_total\{result="error"\} [1-9]/)
  t.ok(afterRetry <= 3, `${afterRetry} polls within the first 1 s + 2 s of backoff`)
  transmitter.pollStatus = 200
  const set = transmitter.sign({ [`${RISC}account-disabled`]: {} }, { claims: { sub_id: issSub(randomUUID()) } })
  const jti = transmitter.enqueue(set)
  await waitFor(() => transmitter.acked.has(jti), 'delivered once the transmitter answers again', 10_000)
})

t.test('two replicas polling one transmitter: exactly one polls; the other takes over when it stops', async (t) => {
  const redis = await sharedRedis(t)
  const transmitter = await TestTransmitter.start(t)
  const env = { ...ssfEnv(transmitter, pollEntry(transmitter)), ...redis.env() }
  const first = await startGateway(t, env, { ssfLeaseRenewMs: 100 })
  const second = await startGateway(t, env, { ssfLeaseRenewMs: 100 })
  const polling = (): number => (first.app.tokengate.ssf?.polling ?? 0) + (second.app.tokengate.ssf?.polling ?? 0)
  await waitFor(() => polling() === 1, 'one replica holds the lease')
  // Stays one: the holder renews, the other never takes it meanwhile.
  for (let i = 0; i < 5; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    t.equal(polling(), 1, 'still exactly one poller')
  }
  const sub = randomUUID()
  const token = tokenOf(sub)
  const jti = transmitter.enqueue(transmitter.sign({ [`${RISC}account-disabled`]: {} }, { claims: { sub_id: issSub(sub) } }))
  await waitFor(() => transmitter.acked.has(jti), 'delivered through the leader')
  t.equal(await statusOf(first.app, token), 401, 'enforced on the first replica')
  t.equal(await statusOf(second.app, token), 401, 'and on the second')

  const [holder, other] = first.app.tokengate.ssf?.polling === 1 ? [first, second] : [second, first]
  // The holder shuts down (its lease released); a holder that dies is test/ssf/lease.test.ts.
  await holder.app.close()
  await waitFor(() => other.app.tokengate.ssf?.polling === 1, 'the other replica takes the lease over', 5000)
  const later = randomUUID()
  const laterToken = tokenOf(later)
  const next = transmitter.enqueue(transmitter.sign({ [`${RISC}account-purged`]: {} }, { claims: { sub_id: issSub(later) } }))
  await waitFor(() => transmitter.acked.has(next), 'delivered by the new poller')
  t.equal(await statusOf(other.app, laterToken), 401)
})
