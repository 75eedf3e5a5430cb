import t from 'tap'
import { startRedis } from '../helpers/redis.js'
import { startOtlpReceiver } from '../helpers/otlp-receiver.js'
import { sign } from '../helpers/tokens.js'
import { onNewConnection, startCluster } from '../cluster/cluster-process.js'

t.test('WORKERS=2 (tokengate serve): each worker exports its own spans, and exports what is queued on SIGTERM', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const receiver = await startOtlpReceiver(t)
  // Nothing is exported on a schedule during the test: every span arrives through the drain's flush.
  const gateway = await startCluster(t, { WORKERS: '2', REDIS_URL: redis.url, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '600000' })
  const workers = gateway.workerPids()
  t.equal(workers.length, 2)
  for (let i = 0; i < 6; i++) t.equal((await onNewConnection(`${gateway.base}/auth/verify`, { token: sign() })).status, 200)
  t.equal(receiver.spans.length, 0, 'nothing exported before the shutdown')
  gateway.child.kill('SIGTERM')
  const [code] = await gateway.exited
  t.equal(code, 0, 'a clean exit')
  const decisions = receiver.spans.filter((span) => span.name === 'tokengate.decision')
  t.equal(decisions.length, 6, 'every decision exported during the drain')
  const pids = new Set(decisions.map((span) => span.resource['process.pid']))
  t.same([...pids].sort(), [...workers].sort(), 'from both workers, each under its own pid')
})
