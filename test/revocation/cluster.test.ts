import t from 'tap'
import { nowSeconds } from '../../src/revocation/store.js'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { startCluster } from '../helpers/redis-topologies.js'
import { sign } from '../helpers/tokens.js'
import { until } from '../helpers/until.js'
import { redisStore } from './fixtures.js'
import { realTime, storeContract } from './store-contract.js'
import { marks } from './marks.js'

const cluster = await startCluster(3)
t.teardown(() => cluster.stop())
const topology = { mode: 'cluster' as const, nodes: cluster.nodes.map((node) => ({ host: '127.0.0.1', port: node.port })) }

let prefixes = 0
// A prefix per test keeps the shared cluster's marks (and stats) apart.
storeContract(t, 'cluster', async (t) => ({ store: await redisStore(t, topology, { keyPrefix: `c${++prefixes}:` }), pass: realTime }))

t.test('cluster: marks spread over the primaries and one lookup reads them all', async (t) => {
  const store = await redisStore(t, topology, { keyPrefix: 'spread:' })
  for (let i = 0; i < 30; i++) await marks(store).token(`t-${i}`, 60)
  const holding = await Promise.all(cluster.nodes.map(async (node) => (await node.client.keys('spread:*')).length))
  t.ok(holding.filter((count) => count > 0).length > 1, `keys on several primaries: ${holding.join(', ')}`)
  const now = nowSeconds()
  await marks(store).session('s', 60)
  await marks(store).user('u', now, 60)
  await marks(store).everyone(now - 50, 60)
  t.equal(await store.lookup({ iss: '', jti: 't-7', sid: 'x', sub: 'x', iat: now }), 'jti')
  t.equal(await store.lookup({ iss: '', jti: 'x', sid: 's', sub: 'x', iat: now }), 'session')
  t.equal(await store.lookup({ iss: '', jti: 'x', sid: 'x', sub: 'u', iat: now }), 'user')
  t.equal(await store.lookup({ iss: '', jti: 'x', sid: 'x', sub: 'x', iat: now - 60 }), 'global')
  t.equal(await store.lookup({ iss: '', jti: 'x', sid: 'x', sub: 'x', iat: now }), null)
})

t.test('cluster: two gateways, a revocation through A is denied by B', async (t) => {
  // A generous budget: this test is about where marks live, not about timing on a busy machine.
  const env = { ...cluster.env, REDIS_KEY_PREFIX: 'gw:', FAIL_MODE: 'closed', REVOCATION_CHECK_TIMEOUT_MS: '1000', LOG_LEVEL: 'warn' }
  const a = await startGateway(t, env)
  const b = await startGateway(t, env)
  t.ok(await until(() => a.app.tokengate.replica.current && b.app.tokengate.replica.current), 'both follow the log')
  const iat = nowSeconds() - 1
  const tokens = {
    jti: sign({ claims: { sub: 'c-1', sid: 'c-s1', iat } }),
    session: sign({ claims: { sub: 'c-2', sid: 'c-s2', iat } }),
    user: sign({ claims: { sub: 'c-3', sid: 'c-s3', iat } })
  }
  for (const token of Object.values(tokens)) {
    t.equal((await call(`${b.url}/auth/verify`, { token })).status, 200, 'served by B (FAIL_MODE=closed: the cluster answered)')
  }
  const store = a.app.tokengate.store
  const jti = JSON.parse(Buffer.from(tokens.jti.split('.')[1], 'base64url').toString()).jti as string
  await marks(store).token(jti, 60)
  await marks(store).session('c-s2', 60)
  await marks(store).user('c-3', nowSeconds(), 60)
  for (const [kind, token] of Object.entries(tokens)) {
    t.ok(await until(async () => (await call(`${b.url}/auth/verify`, { token })).status === 401, 1000, 1), `${kind}: B denies it`)
  }
  const fresh = await startGateway(t, env)
  for (const [kind, token] of Object.entries(tokens)) {
    t.equal((await call(`${fresh.url}/auth/verify`, { token })).status, 401, `${kind}: a gateway started after the revocations loaded the marks from the cluster`)
  }
  t.equal((await call(`${fresh.url}/auth/verify`, { token: sign({ claims: { sub: 'c-4' } }) })).status, 200)
})
