import { randomUUID } from 'node:crypto'
import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { startRedis } from '../helpers/redis.js'
import { pushSet, RISC, TestTransmitter } from '../helpers/ssf-transmitter.js'
import { waitFor } from '../helpers/until.js'
import { issSub, PUSH_AUTHORIZATION, ssfEnv, statusOf, tokenOf } from './ssf-env.js'

t.test('Redis down during a push: 503 (not stored), enforced on the receiving replica at once, on every replica once Redis is back', async (t) => {
  const redis = await startRedis()
  t.teardown(async () => { await redis.stop() })
  const transmitter = await TestTransmitter.start(t)
  const env = { ...ssfEnv(transmitter), REDIS_URL: redis.url, FAIL_MODE: 'open' }
  const receiving = await startGateway(t, env)
  const other = await startGateway(t, env)
  const sub = randomUUID()
  const token = tokenOf(sub)
  const set = transmitter.sign({ [`${RISC}account-disabled`]: {} }, { claims: { sub_id: issSub(sub) } })

  await redis.kill()
  const res = await fetch(`${receiving.url}/auth/ssf/events`, { method: 'POST', headers: { 'content-type': 'application/secevent+jwt', authorization: PUSH_AUTHORIZATION }, body: set })
  t.equal(res.status, 503, 'never 202 for what Redis did not store (design.md: fail-secure writes)')
  t.equal(res.headers.get('retry-after'), '1', 'the transmitter is told to try again')
  t.match(await res.json(), { error: 'temporarily_unavailable' })
  t.equal(await statusOf(receiving.app, token), 401, 'the receiving replica enforces it at once')

  await redis.restart()
  // The IdP core's retry queue stores it; every replica follows the log.
  await waitFor(async () => await statusOf(other.app, token) === 401, 'the other replica enforces it once the queued write is stored', 15_000)
  const retry = await pushSet(`${receiving.url}/auth/ssf/events`, set, PUSH_AUTHORIZATION)
  t.equal(retry.status, 202, 'the transmitter\'s retry is accepted once Redis is back')
})

t.test('Redis down: nobody polls (the lease cannot be held), so nothing is acknowledged unstored', async (t) => {
  const redis = await startRedis()
  t.teardown(async () => { await redis.stop() })
  const transmitter = await TestTransmitter.start(t)
  const gateway = await startGateway(t, { ...ssfEnv(transmitter, { delivery: { poll: { endpoint: transmitter.pollUrl, wait_s: 1 } } }), REDIS_URL: redis.url }, { ssfLeaseRenewMs: 100 })
  await waitFor(() => gateway.app.tokengate.ssf?.polling === 1, 'polling while Redis is up')
  await redis.kill()
  await waitFor(() => gateway.app.tokengate.ssf?.polling === 0, 'the lease is given up when it cannot be renewed')
  const jti = transmitter.enqueue(transmitter.sign({ [`${RISC}account-disabled`]: {} }, { claims: { sub_id: issSub(randomUUID()) } }))
  const polls = transmitter.polls.length
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.notOk(transmitter.acked.has(jti), 'not acknowledged while Redis is down')
  t.ok(transmitter.polls.length <= polls + 1, 'at most the poll already in flight')
  await redis.restart()
  await waitFor(() => transmitter.acked.has(jti), 'delivered once Redis is back', 15_000)
})
