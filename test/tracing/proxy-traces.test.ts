import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { startOtlpReceiver, tracingEnv, withOtelEnv, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.js'
import { sign } from '../helpers/tokens.js'
import { startUpstream } from '../helpers/upstream.js'
import { untilValue } from '../helpers/until.js'

const CLIENT = 3
const INCOMING_TRACE = '0af7651916cd43dd8448eb211c80319c'
const INCOMING_PARENT = 'b7ad6b7169203331'
const TRACEPARENT = `00-${INCOMING_TRACE}-${INCOMING_PARENT}-01`
// W3C Trace Context §3.2.2: version "00", 32 hex trace-id, 16 hex parent-id, 2 hex flags.
const TRACEPARENT_FORMAT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/

async function spansNamed (receiver: OtlpReceiver, name: string, count: number): Promise<ReceivedSpan[]> {
  return await untilValue(() => receiver.spans.filter((span) => span.name === name), (spans) => spans.length >= count)
}

function parsed (header: string | string[] | undefined): { traceId: string, parentId: string, flags: string } {
  const match = TRACEPARENT_FORMAT.exec(typeof header === 'string' ? header : '')
  if (match === null) throw new Error(`not a traceparent: ${String(header)}`)
  return { traceId: match[1], parentId: match[2], flags: match[3] }
}

t.test('proxy mode: the upstream continues tokengate\'s trace, not the client\'s; the exchange is the decision\'s child', async (t) => {
  const receiver = await startOtlpReceiver(t)
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { ...tracingEnv(t, receiver), UPSTREAM_URL: upstream.url, TRUSTED_PROXIES: '10.9.9.9' })
  const res = await call(`${gw.url}/orders/7`, { token: sign(), headers: { traceparent: TRACEPARENT, tracestate: 'client=chosen', baggage: 'user=admin' } })
  t.equal(res.status, 200)
  const [decision] = await spansNamed(receiver, 'tokengate.decision', 1)
  const [exchange] = await spansNamed(receiver, 'tokengate.upstream', 1)
  t.match(decision.attributes, { 'tokengate.mode': 'proxy', 'tokengate.outcome': 'allowed' })
  t.not(decision.traceId, INCOMING_TRACE, 'a client outside TRUSTED_PROXIES does not choose the trace')
  t.equal(exchange.kind, CLIENT)
  t.equal(exchange.traceId, decision.traceId)
  t.equal(exchange.parentSpanId, decision.spanId)
  t.equal(exchange.attributes['http.response.status_code'], 200)
  t.equal(exchange.attributes['tokengate.request_id'], decision.attributes['tokengate.request_id'])
  const seen = upstream.seen[0].headers
  const sent = parsed(seen.traceparent)
  t.equal(sent.traceId, decision.traceId, 'the upstream receives the exported trace id')
  t.equal(sent.parentId, exchange.spanId, 'with the exchange span as its parent')
  t.equal(sent.flags, '01', 'sampled')
  t.equal(seen.tracestate, undefined, 'the client\'s tracestate is not passed on')
  t.equal(seen.baggage, undefined, 'nor its baggage')
})

t.test('proxy mode behind a trusted proxy: its trace, tracestate and baggage go on to the upstream', async (t) => {
  const receiver = await startOtlpReceiver(t)
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { ...tracingEnv(t, receiver), UPSTREAM_URL: upstream.url })
  await call(`${gw.url}/orders/7`, { token: sign(), headers: { traceparent: TRACEPARENT, tracestate: 'ingress=1', baggage: 'tenant=a' } })
  const [decision] = await spansNamed(receiver, 'tokengate.decision', 1)
  const [exchange] = await spansNamed(receiver, 'tokengate.upstream', 1)
  t.equal(decision.traceId, INCOMING_TRACE)
  t.equal(decision.parentSpanId, INCOMING_PARENT)
  const seen = upstream.seen[0].headers
  t.same(parsed(seen.traceparent), { traceId: INCOMING_TRACE, parentId: exchange.spanId, flags: '01' })
  t.equal(seen.tracestate, 'ingress=1', 'W3C Trace Context §3.3: tracestate travels with its trace')
  t.equal(seen.baggage, 'tenant=a')
})

t.test('a public path and a refusal are decisions too: a span each, and a refused request reaches no upstream', async (t) => {
  const receiver = await startOtlpReceiver(t)
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { ...tracingEnv(t, receiver), UPSTREAM_URL: upstream.url, PUBLIC_PATHS: '/public' })
  t.equal((await call(`${gw.url}/public/x`)).status, 200)
  t.equal((await call(`${gw.url}/private`)).status, 401)
  const spans = await spansNamed(receiver, 'tokengate.decision', 2)
  t.same(spans.map((span) => span.attributes['tokengate.outcome']), ['public', 'denied'])
  t.equal(spans[1].attributes['tokengate.error.reason'], 'missing')
  const exchanges = await spansNamed(receiver, 'tokengate.upstream', 1)
  t.equal(exchanges.length, 1, 'only the public request was forwarded')
  t.equal(exchanges[0].parentSpanId, spans[0].spanId)
})

t.test('sampler ratio 0: nothing is exported, and the upstream still gets a traceparent (not sampled)', async (t) => {
  const receiver = await startOtlpReceiver(t)
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { ...tracingEnv(t, receiver, { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' }), UPSTREAM_URL: upstream.url })
  for (let i = 0; i < 5; i++) t.equal((await call(`${gw.url}/x`, { token: sign() })).status, 200)
  await gw.app.close()
  t.same(receiver.spans, [], 'no span exported, the queue flushed at close included')
  const ids = upstream.seen.map((request) => parsed(request.headers.traceparent))
  t.equal(ids.length, 5)
  t.ok(ids.every(({ flags }) => flags === '00'), 'flags say "not sampled"')
  t.equal(new Set(ids.map(({ traceId }) => traceId)).size, 5, 'a trace id per request, the upstream can still join its logs')
})

t.test('tracing off: a client\'s traceparent, tracestate and baggage pass to the upstream untouched', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url, TRUSTED_PROXIES: '10.9.9.9' })
  await call(`${gw.url}/x`, { token: sign(), headers: { traceparent: TRACEPARENT, tracestate: 'client=1', baggage: 'b=1' } })
  t.match(upstream.seen[0].headers, { traceparent: TRACEPARENT, tracestate: 'client=1', baggage: 'b=1' })
})

t.test('the spans of the last requests are exported when the gateway closes (SIGTERM drain), not lost with the batch', async (t) => {
  const receiver = await startOtlpReceiver(t)
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { ...withOtelEnv(t, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '600000' }), UPSTREAM_URL: upstream.url })
  for (let i = 0; i < 3; i++) await call(`${gw.url}/x`, { token: sign() })
  t.equal(receiver.spans.length, 0, 'nothing exported yet: the batch waits for its schedule')
  await gw.app.close()
  t.equal(receiver.spans.filter((span) => span.name === 'tokengate.decision').length, 3)
  t.equal(receiver.spans.filter((span) => span.name === 'tokengate.upstream').length, 3)
})
