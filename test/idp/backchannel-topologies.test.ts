import t from 'tap'
import { startRedis } from '../helpers/redis.js'
import { startCluster, startSentinelGroup } from '../helpers/redis-topologies.js'
import { until } from '../helpers/until.js'
import { accessToken, logoutSetup, logoutToken, postLogout, verifyStatus } from './backchannel-fixture.js'

const TOPOLOGIES: ReadonlyArray<readonly [string, () => Promise<{ env: Readonly<Record<string, string>>, stop: () => Promise<void> }>]> = [
  ['standalone', async () => { const redis = await startRedis(); return { env: { REDIS_URL: redis.url }, stop: redis.stop } }],
  ['Sentinel', startSentinelGroup],
  ['Cluster', async () => await startCluster()]
]

for (const [name, start] of TOPOLOGIES) {
  t.test(`${name}: a logout stored by one replica is enforced by the other, and its logout token replayed to the other replica is refused (one replay cache)`, async (t) => {
    const redis = await start()
    t.teardown(() => redis.stop())
    const { provider, a, b } = await logoutSetup(t, { ...redis.env })
    const ended = accessToken(provider, 'alice', 'topology-session')
    const kept = accessToken(provider, 'alice', 'kept-session')
    await provider.logout('alice', 'topology-session')
    t.ok(await until(async () => await verifyStatus(b, ended) === 401, 2000, 5), 'refused by the other replica')
    t.equal(await verifyStatus(b, kept), 200)
    const token = logoutToken(provider, { claims: { sid: 'replayed-session' } })
    t.equal((await postLogout(a, token)).status, 200)
    const replay = await postLogout(b, token)
    t.equal(replay.status, 400, 'the other replica knows its jti')
    t.equal(replay.body.error_description, 'This logout token (its jti) was already received')
  })
}
