import t from 'tap'
import type { Alert } from '../../src/security/alert.js'
import { AlertWebhook } from '../../src/security/webhook.js'
import { freePort } from '../helpers/redis.js'
import { untilValue } from '../helpers/until.js'
import { startReceiver } from './receiver.js'

function alert (n: number): Alert {
  return { id: `a-${n}`, timestamp: new Date().toISOString(), severity: 'HIGH', type: 'ip_verification_failures', message: 'test', iss: null, user_id: null, ip: '192.0.2.1', jti: null, count: n, threshold: 1, window_s: 3600, request_id: null }
}

t.test('with the receiver down the queue stays bounded, enqueue never waits, and the oldest alerts are dropped', async (t) => {
  const port = await freePort()
  const outcomes: string[] = []
  const webhook = new AlertWebhook(new URL(`http://127.0.0.1:${port}/hook`), (o) => outcomes.push(o), { capacity: 5, retryDelaysMs: [50] })
  t.teardown(() => webhook.close(0))
  const started = performance.now()
  for (let i = 0; i < 100; i++) webhook.enqueue(alert(i))
  t.ok(performance.now() - started < 50, 'enqueueing 100 alerts takes no time')
  t.ok(webhook.state().queued <= 5, `queue bounded (${webhook.state().queued})`)
  t.ok(webhook.state().dropped >= 94, `overflow dropped and counted (${webhook.state().dropped})`)
  const state = await untilValue(async () => webhook.state(), (s) => s.failed >= 1)
  t.ok(state.failed >= 1, 'a delivery that fails after its retries is counted')
  t.match(state.last_error, /fetch failed|ECONNREFUSED/)
})

t.test('alerts are delivered in order once the receiver answers', async (t) => {
  const receiver = await startReceiver(t)
  const webhook = new AlertWebhook(new URL(receiver.url), () => {}, { retryDelaysMs: [] })
  t.teardown(() => webhook.close(0))
  for (let i = 0; i < 3; i++) webhook.enqueue(alert(i))
  await untilValue(async () => receiver.bodies.length, (n) => n === 3)
  t.same(receiver.bodies.map((b) => b.alert.id), ['a-0', 'a-1', 'a-2'])
  t.equal((await untilValue(async () => webhook.state(), (s) => s.delivered === 3)).delivered, 3)
})
