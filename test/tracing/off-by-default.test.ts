import { registerHooks } from 'node:module'
import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { startOtlpReceiver, tracingEnv } from '../helpers/otlp-receiver.js'
import { sign } from '../helpers/tokens.js'

// Every module resolved from here on: the OpenTelemetry SDK is imported only when tracing is on.
const resolved: string[] = []
registerHooks({
  resolve (specifier, context, next) {
    resolved.push(specifier)
    return next(specifier, context)
  }
})
const otelModules = (): string[] => resolved.filter((specifier) => specifier.includes('@opentelemetry/') || specifier.endsWith('tracing/otel.js'))

t.test('off by default: no OTEL_* variable, no SDK module loaded, nothing sent anywhere', async (t) => {
  const receiver = await startOtlpReceiver(t)
  const gw = await startGateway(t, {})
  t.equal(gw.config.tracing, null)
  t.equal((await call(`${gw.url}/auth/verify`, { token: sign() })).status, 200)
  await gw.app.close()
  t.same(otelModules(), [], 'no @opentelemetry module was imported')
  t.same(receiver.requests, [])
})

t.test('OTEL_SDK_DISABLED=true and OTEL_TRACES_EXPORTER=none win over an endpoint', async (t) => {
  const receiver = await startOtlpReceiver(t)
  for (const off of [{ OTEL_SDK_DISABLED: 'TRUE' }, { OTEL_TRACES_EXPORTER: 'none' }]) {
    const gw = await startGateway(t, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...off })
    t.equal(gw.config.tracing, null, JSON.stringify(off))
    await call(`${gw.url}/auth/verify`, { token: sign() })
    await gw.app.close()
  }
  t.same(otelModules(), [])
  t.same(receiver.requests, [])
})

// The control: the same hook sees the SDK once tracing is on, so the checks above can fail.
t.test('with an endpoint the SDK is loaded, then', async (t) => {
  const receiver = await startOtlpReceiver(t)
  const gw = await startGateway(t, tracingEnv(t, receiver))
  await call(`${gw.url}/auth/verify`, { token: sign() })
  await gw.app.close()
  t.ok(otelModules().length > 0, otelModules().join(' '))
  t.ok(receiver.spans.length > 0)
})
