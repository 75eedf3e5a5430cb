import { createServer as createTcpServer, type Socket } from 'node:net'
import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { withOtelEnv } from '../helpers/otlp-receiver.js'
import { freePort } from '../helpers/redis.js'
import { sign } from '../helpers/tokens.js'
import { until } from '../helpers/until.js'

const EXPORT_FAILED = 'OTLP trace export failed'

function lines (logs: string[], msg: string): Array<Record<string, unknown>> {
  return logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => typeof line.msg === 'string' && line.msg.startsWith(msg))
}

t.test('a collector on a closed port: every request answered, one warning, not one per export', async (t) => {
  const closed = await freePort()
  // Each export gives up after 200 ms of retries (OTEL_EXPORTER_OTLP_TIMEOUT): a dozen exports fail in the test's 3 s.
  const gw = await startGateway(t, withOtelEnv(t, { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closed}`, OTEL_EXPORTER_OTLP_TIMEOUT: '200', OTEL_BSP_SCHEDULE_DELAY: '10' }))
  const started = Date.now()
  let sent = 0
  let answered = 0
  while (Date.now() - started < 3000) {
    sent++
    if ((await call(`${gw.url}/auth/verify`, { token: sign() })).status === 200) answered++
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  t.equal(answered, sent, `all ${sent} requests answered`)
  t.ok(await until(() => lines(gw.logs, EXPORT_FAILED).length > 0, 5000), 'the failure is logged')
  const warnings = lines(gw.logs, EXPORT_FAILED)
  t.equal(warnings.length, 1, 'once, for every export of 3 s')
  t.equal(warnings[0]?.level, 40, 'as a warning')
})

t.test('a collector that accepts and never answers holds the shutdown at most SHUTDOWN_FLUSH_MS (2 s)', async (t) => {
  const held: Socket[] = []
  const silent = createTcpServer((socket) => { held.push(socket) })
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const socket of held) socket.destroy(); silent.close() })
  const address = silent.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const gw = await startGateway(t, withOtelEnv(t, { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_BSP_SCHEDULE_DELAY: '600000' }))
  for (let i = 0; i < 3; i++) t.equal((await call(`${gw.url}/auth/verify`, { token: sign() })).status, 200)
  const started = performance.now()
  await gw.app.close()
  const took = performance.now() - started
  t.ok(took < 2800, `closed in ${took.toFixed(0)} ms`)
  t.ok(held.length > 0, 'the exporter did try the collector')
})
