import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { sharedRedis } from '../helpers/redis.js'
import { startCluster, startSentinelGroup } from '../helpers/redis-topologies.js'
import { pushSet, RISC, TestTransmitter } from '../helpers/ssf-transmitter.js'
import { waitFor } from '../helpers/until.js'
import { issSub, PUSH_AUTHORIZATION, ssfEnv, statusOf, tokenOf } from './ssf-env.js'

/** Two replicas on one Redis: a push to one is enforced by both, and its replay to the other is a duplicate. */
async function scenario (t: Test, redisEnv: Readonly<Record<string, string>>): Promise<void> {
  const transmitter = await TestTransmitter.start(t)
  const env = { ...ssfEnv(transmitter), ...redisEnv }
  const first = await startGateway(t, env)
  const second = await startGateway(t, env)
  const sub = randomUUID()
  const token = tokenOf(sub)
  const set = transmitter.sign({ [`${RISC}credential-compromise`]: {} }, { claims: { sub_id: issSub(sub) } })
  t.equal((await pushSet(`${first.url}/auth/ssf/events`, set, PUSH_AUTHORIZATION)).status, 202)
  t.equal(await statusOf(first.app, token), 401)
  await waitFor(async () => await statusOf(second.app, token) === 401, 'the other replica enforces it')
  t.equal((await pushSet(`${second.url}/auth/ssf/events`, set, PUSH_AUTHORIZATION)).status, 202, 'the replay to another replica is acknowledged')
  const metrics = await (await fetch(`${second.url}/metrics`)).text()
  t.match(metrics, /tokengate_idp_messages_total\{source="ssf_push",result="duplicate"\} 1/, 'as a duplicate: the replay cache is shared')
}

t.test('standalone', async (t) => {
  const redis = await sharedRedis(t)
  await scenario(t, redis.env())
})

t.test('Sentinel', async (t) => {
  const group = await startSentinelGroup()
  t.teardown(async () => { await group.stop() })
  await scenario(t, group.env)
})

t.test('Cluster', async (t) => {
  const cluster = await startCluster()
  t.teardown(async () => { await cluster.stop() })
  await scenario(t, cluster.env)
})
