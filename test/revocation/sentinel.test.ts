import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { Failures, GatewayError } from '../../src/errors.js'
import { nowSeconds } from '../../src/revocation/store.js'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { startSentinelGroup } from '../helpers/redis-topologies.js'
import { sign } from '../helpers/tokens.js'
import { until, untilValue } from '../helpers/until.js'
import { marks } from './marks.js'

function jtiOf (token: string): string {
  return (JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { jti: string }).jti
}

/** A named pause, where pacing is the point: revocations keep arriving, one every 20 ms, across the failover. */
async function pace (): Promise<void> {
  await sleep(20)
}

/** The registry's 503, with the replica count in its cause (for the logs). */
function refusedForReplicas (err: unknown): boolean {
  return err instanceof GatewayError && err.failure === Failures.STORE_UNAVAILABLE && /replicas/.test((err.cause as Error).message)
}

t.test('Sentinel failover with REDIS_MIN_REPLICAS_ACK=1: no acknowledged revocation is lost, and the gateway carries on', async (t) => {
  const group = await startSentinelGroup()
  t.teardown(() => group.stop())
  // FAIL_MODE=closed so that a 200 means Redis answered; a generous budget so that a busy machine does not look like an outage.
  const env = { ...group.env, REDIS_MIN_REPLICAS_ACK: '1', FAIL_MODE: 'closed', REVOCATION_CHECK_TIMEOUT_MS: '1000', LOG_LEVEL: 'error' }
  const gw = await startGateway(t, env)
  const store = gw.app.tokengate.store
  t.equal((await call(`${gw.url}/auth/verify`, { token: sign() })).status, 200, 'verifications are answered through the Sentinel-managed primary')

  const acknowledged: string[] = []
  const iat = nowSeconds() - 1
  const sessionToken = sign({ claims: { sub: 'fo-session', sid: 'fo-sid', iat } })
  const userToken = sign({ claims: { sub: 'fo-user', iat } })
  await marks(store).session('fo-sid', 60)
  await marks(store).user('fo-user', nowSeconds(), 60)
  acknowledged.push(sessionToken, userToken)

  // Revocations keep coming while the primary dies; only the acknowledged ones are owed.
  const writing = { on: true }
  let refused = 0
  const writer = (async () => {
    while (writing.on) {
      const token = sign()
      try {
        await marks(store).token(jtiOf(token), 60)
        acknowledged.push(token)
      } catch {
        refused++
      }
      await pace()
    }
  })()
  await until(() => acknowledged.length >= 12, 5000)

  const started = performance.now()
  const oldPort = await group.killPrimary()
  const newPort = await group.waitForFailover(oldPort)
  t.comment(`failover ${oldPort} -> ${newPort} in ${((performance.now() - started) / 1000).toFixed(1)} s; ${acknowledged.length} revocations acknowledged, ${refused} refused meanwhile`)
  t.not(newPort, oldPort)

  // The promoted replica has no replica of its own: a revocation cannot be acknowledged yet.
  t.ok(await until(async () => await marks(store).token('needs-a-replica', 60).then(() => false, (err: unknown) => refusedForReplicas(err)), 10_000, 100),
    'without a replica to confirm it, a revocation is refused, never falsely acknowledged')
  // The old primary returns as a replica of the new one, as an operator would bring it back.
  await group.servers.get(oldPort)?.restart(['--replicaof', '127.0.0.1', String(newPort)])
  t.ok(await until(async () => await marks(store).token(jtiOf(sign()), 60).then(() => true, () => false), 5000, 100),
    'once the old primary is back (as a replica), revocations are acknowledged again')
  writing.on = false
  await writer

  const fresh = await startGateway(t, env)
  // A 503 (FAIL_MODE=closed while the fresh gateway's connections come up) is a refusal, not an answer: ask again.
  const answer = async (token: string): Promise<number> =>
    await untilValue(async () => (await call(`${fresh.url}/auth/verify`, { token })).status, (status) => status !== 503, 5000, 0)
  const denied = await Promise.all(acknowledged.map(answer))
  t.same(denied.filter((status) => status !== 401), [], `all ${acknowledged.length} acknowledged revocations are enforced by a gateway that only knows Redis`)
  t.ok(await until(async () => (await call(`${gw.url}/auth/verify`, { token: sign() })).status === 200, 5000), 'the first gateway verifies again without a restart')

  const late = sign()
  t.equal((await call(`${gw.url}/auth/verify`, { token: late })).status, 200)
  await marks(store).token(jtiOf(late), 60)
  t.equal((await call(`${fresh.url}/auth/verify`, { token: late })).status, 401, 'a revocation after the failover reaches the other gateway')

  t.ok(await until(() => gw.app.tokengate.replica.current), 'the first gateway follows the log on the new primary')
  const cached = sign()
  t.equal((await call(`${gw.url}/auth/verify`, { token: cached })).status, 200)
  t.equal((await call(`${gw.url}/auth/verify`, { token: cached })).status, 200)
  await marks(fresh.app.tokengate.store).token(jtiOf(cached), 60)
  t.ok(await until(async () => (await call(`${gw.url}/auth/verify`, { token: cached })).status === 401, 1000, 5),
    'an event from the other gateway reaches it')
})
