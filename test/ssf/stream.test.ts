import { randomUUID } from 'node:crypto'
import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { pushSet, RISC, TestTransmitter } from '../helpers/ssf-transmitter.js'
import { untilValue, waitFor } from '../helpers/until.js'
import { issSub, PUSH_AUTHORIZATION, ssfEnv, statusOf, tokenOf } from './ssf-env.js'

const REVOKING = ['session-revoked', 'credential-change', 'account-disabled', 'account-purged', 'credential-compromise', 'sessions-revoked']

async function metricsOf (url: string): Promise<string> {
  return await (await fetch(`${url}/metrics`)).text()
}

t.test('SSF 1.0 §7.1: a poll stream is created at start-up, its endpoint polled, its verification matched', async (t) => {
  const transmitter = await TestTransmitter.start(t)
  transmitter.requireManagementToken = true
  const gateway = await startGateway(t, ssfEnv(transmitter, {
    delivery: { poll: { wait_s: 1 } },
    authorization: { client_credentials: { token_endpoint: transmitter.tokenUrl, client_id: transmitter.client.id, client_secret: transmitter.client.secret } },
    stream: { manage: true }
  }))
  await gateway.app.tokengate.ssf?.streamsManaged()
  const created = transmitter.streamRequests.find((request) => request.method === 'POST')?.body as { delivery: { method: string }, events_requested: string[] } | undefined
  t.equal(created?.delivery.method, 'urn:ietf:rfc:8936', 'poll delivery (RFC 8936)')
  t.same(created?.events_requested.map((type) => type.slice(type.lastIndexOf('/') + 1)).sort(), [...REVOKING].sort(), 'every event tokengate acts on')
  t.ok(transmitter.streamRequests.every((request) => request.authorization?.startsWith('Bearer mgmt-')), 'client credentials (RFC 6749 §4.4) authenticate management')
  t.equal(transmitter.verificationStates.length, 1, 'a verification was requested (SSF 1.0 §8.1.4.2)')
  // The transmitter queued the verification SET echoing the state: the poller fetches it from the stream's endpoint.
  const metrics = await untilValue(async () => await metricsOf(gateway.url), (text) => /tokengate_ssf_verifications_total\{result="matched"\} 1/.test(text))
  t.match(metrics, /tokengate_ssf_stream_checks_total\{result="created"\} 1/)
  const sub = randomUUID()
  const token = tokenOf(sub)
  const jti = transmitter.enqueue(transmitter.sign({ [`${RISC}account-disabled`]: {} }, { claims: { sub_id: issSub(sub) } }))
  await waitFor(() => transmitter.acked.has(jti), 'a SET delivered through the managed stream')
  t.equal(await statusOf(gateway.app, token), 401)
})

t.test('a push stream is created with tokengate\'s endpoint and the authorization header it expects', async (t) => {
  const transmitter = await TestTransmitter.start(t)
  const gateway = await startGateway(t, ssfEnv(transmitter, {
    delivery: { push: { authorization: PUSH_AUTHORIZATION, endpoint_url: 'https://gateway.example/auth/ssf/events' } },
    stream: { manage: true }
  }))
  await gateway.app.tokengate.ssf?.streamsManaged()
  const created = transmitter.streamRequests.find((request) => request.method === 'POST')?.body as { delivery: Record<string, string> } | undefined
  t.same(created?.delivery, { method: 'urn:ietf:rfc:8935', endpoint_url: 'https://gateway.example/auth/ssf/events', authorization_header: PUSH_AUTHORIZATION })
  // The transmitter's verification SET, pushed: acknowledged and matched.
  const [, set] = [...transmitter.queue][0]
  t.equal((await pushSet(`${gateway.url}/auth/ssf/events`, set, PUSH_AUTHORIZATION)).status, 202)
  t.match(await metricsOf(gateway.url), /tokengate_ssf_verifications_total\{result="matched"\} 1/)
})

t.test('a stream that differs is reported, not rewritten; a broken management API never stops start-up', async (t) => {
  const transmitter = await TestTransmitter.start(t)
  transmitter.streams = [{ stream_id: 'existing', delivery: { method: 'urn:ietf:rfc:8936', endpoint_url: transmitter.pollUrl }, events_delivered: [`${RISC}account-disabled`] }]
  const gateway = await startGateway(t, { ...ssfEnv(transmitter, { delivery: { poll: { wait_s: 1 } }, stream: { manage: true } }), LOG_LEVEL: 'info' })
  await gateway.app.tokengate.ssf?.streamsManaged()
  t.notOk(transmitter.streamRequests.some((request) => request.method !== 'GET'), 'no create, no update')
  t.match(await metricsOf(gateway.url), /tokengate_ssf_stream_checks_total\{result="mismatch"\} 1/)
  t.match(gateway.logs.join('\n'), /it does not deliver session-revoked/, 'the log says what is missing')

  const broken = await TestTransmitter.start(t)
  broken.streamStatus = 500
  const survivor = await startGateway(t, ssfEnv(broken, { delivery: { push: { authorization: PUSH_AUTHORIZATION, endpoint_url: 'https://gateway.example/auth/ssf/events' } }, stream: { manage: true } }))
  await survivor.app.tokengate.ssf?.streamsManaged()
  t.match(await metricsOf(survivor.url), /tokengate_ssf_stream_checks_total\{result="failed"\} 1/)
  const sub = randomUUID()
  const token = tokenOf(sub)
  t.equal((await pushSet(`${survivor.url}/auth/ssf/events`, broken.sign({ [`${RISC}account-disabled`]: {} }, { claims: { sub_id: issSub(sub) } }), PUSH_AUTHORIZATION)).status, 202, 'push still works')
  t.equal(await statusOf(survivor.app, token), 401)
})

t.test('metadata naming another issuer is refused (SSF 1.0 §6.2.3): its SETs verify nothing, start-up goes on', async (t) => {
  const transmitter = await TestTransmitter.start(t)
  transmitter.metadataIssuer = 'https://impostor.example'
  const gateway = await startGateway(t, ssfEnv(transmitter))
  t.match(await metricsOf(gateway.url), /tokengate_ssf_metadata_reads_total\{result="failed"\} 1/)
  t.match(gateway.logs.join('\n'), /impostor\.example.*it must name the configured issuer exactly/)
  const answer = await pushSet(`${gateway.url}/auth/ssf/events`, transmitter.sign({ [`${RISC}account-disabled`]: {} }, { claims: { sub_id: issSub('x') } }), PUSH_AUTHORIZATION)
  t.same([answer.status, (answer.body as { err: string }).err], [400, 'invalid_key'])
})

t.test('a transmitter whose metadata was unusable at start verifies SETs once it is fixed, without a restart', async (t) => {
  const transmitter = await TestTransmitter.start(t)
  transmitter.metadataIssuer = 'https://impostor.example'
  const gateway = await startGateway(t, { ...ssfEnv(transmitter), JWKS_COOLDOWN_S: '1' })
  const push = async (sub: string): Promise<number> =>
    (await pushSet(`${gateway.url}/auth/ssf/events`, transmitter.sign({ [`${RISC}account-disabled`]: {} }, { claims: { sub_id: issSub(sub) } }), PUSH_AUTHORIZATION)).status
  const sub = randomUUID()
  t.equal(await push(sub), 400, 'refused while the metadata names another issuer')
  transmitter.metadataIssuer = null
  // Read again on a SET that needs the keys, at most once per JWKS_COOLDOWN_S.
  const status = await untilValue(async () => await push(sub), (answer) => answer === 202, 5000)
  t.equal(status, 202, 'accepted once the metadata is right')
  t.equal(await statusOf(gateway.app, tokenOf(sub)), 401, 'and enforced')
  t.match(await metricsOf(gateway.url), /tokengate_ssf_metadata_reads_total\{result="ok"\} 1/)
})

t.test('replicas starting together create one stream between them; each polls from it when it holds the lease', async (t) => {
  const { sharedRedis } = await import('../helpers/redis.js')
  const redis = await sharedRedis(t)
  const transmitter = await TestTransmitter.start(t)
  const env = { ...ssfEnv(transmitter, { delivery: { poll: { wait_s: 1 } }, stream: { manage: true } }), ...redis.env() }
  const replicas = await Promise.all([startGateway(t, env, { ssfLeaseRenewMs: 100 }), startGateway(t, env, { ssfLeaseRenewMs: 100 }), startGateway(t, env, { ssfLeaseRenewMs: 100 })])
  await Promise.all(replicas.map(async (replica) => await replica.app.tokengate.ssf?.streamsManaged()))
  t.equal(transmitter.streamRequests.filter((request) => request.method === 'POST').length, 1, 'one stream created (SSF 1.0 §7.1.1.1)')
  t.equal(transmitter.verificationStates.length, 1, 'one verification asked for, by the replica that created it')
  const holder = replicas.find((replica) => replica.app.tokengate.ssf?.polling === 1)
  t.ok(holder !== undefined, 'one replica polls')
  await holder?.app.close()
  const sub = randomUUID()
  const token = tokenOf(sub)
  const jti = transmitter.enqueue(transmitter.sign({ [`${RISC}account-disabled`]: {} }, { claims: { sub_id: issSub(sub) } }))
  await waitFor(() => transmitter.acked.has(jti), 'another replica, which read the stream, polls it after the takeover', 10_000)
  const rest = replicas.filter((replica) => replica !== holder)
  for (const replica of rest) t.equal(await statusOf(replica.app, token), 401)
})
