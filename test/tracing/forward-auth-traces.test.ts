import { createServer } from 'node:http'
import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { startOtlpReceiver, tracingEnv, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.js'
import { keyPair, sign } from '../helpers/tokens.js'
import { untilValue } from '../helpers/until.js'
import { manualClock } from '../helpers/clock.js'
import { startFaultProxy } from '../helpers/fault-proxy.js'
import { startRedis } from '../helpers/redis.js'
import { until } from '../helpers/until.js'

const SERVER = 2
const CLIENT = 3
const ERROR = 2
// W3C Trace Context §3.2: version-traceid-parentid-flags.
const INCOMING_TRACE = '0af7651916cd43dd8448eb211c80319c'
const INCOMING_PARENT = 'b7ad6b7169203331'
const TRACEPARENT = `00-${INCOMING_TRACE}-${INCOMING_PARENT}-01`

async function spansNamed (receiver: OtlpReceiver, name: string, count: number): Promise<ReceivedSpan[]> {
  return await untilValue(() => receiver.spans.filter((span) => span.name === name), (spans) => spans.length >= count)
}

t.test('one decision span per forward-auth request, with the outcome, refusal, issuer, cache and revocation source', async (t) => {
  const receiver = await startOtlpReceiver(t)
  const gw = await startGateway(t, { ...tracingEnv(t, receiver), JWT_ISSUER: 'https://idp.example' })
  const token = sign({ claims: { iss: 'https://idp.example' } })
  // The verified cache admits a token on its second use (verified-cache.ts): the third is answered from it.
  for (let i = 0; i < 3; i++) t.equal((await call(`${gw.url}/auth/verify`, { token })).status, 200)
  t.equal((await call(`${gw.url}/auth/verify`, { token: 'junk' })).status, 401)
  const spans = await spansNamed(receiver, 'tokengate.decision', 4)
  t.equal(spans.length, 4, 'one span per decision, no more')
  const [first, , third, refused] = spans
  t.equal(first.kind, SERVER)
  t.match(first.attributes, {
    'tokengate.mode': 'forward_auth',
    'tokengate.outcome': 'allowed',
    'tokengate.issuer': 'https://idp.example',
    'tokengate.token.verification': 'verified',
    'tokengate.revocation.source': 'state'
  })
  t.equal(typeof first.attributes['tokengate.request_id'], 'string', 'the request id is on the span')
  t.equal(third.attributes['tokengate.token.verification'], 'cached', 'the third use comes from the verified cache')
  t.match(refused.attributes, { 'tokengate.outcome': 'denied', 'tokengate.error.code': 'TG_ERR_TOKEN_MALFORMED', 'tokengate.error.reason': 'malformed', 'http.response.status_code': 401 })
  t.notOk(JSON.stringify(spans).includes(token), 'no token in any span')
  t.equal(first.resource['service.name'], 'tokengate')
  t.equal(receiver.requests[0].path, '/v1/traces')
  t.equal(receiver.requests[0].contentType, 'application/x-protobuf', 'OTLP/HTTP with protobuf bodies, the OTLP default')

  const line = gw.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'decision' && l.reason === 'malformed')
  t.equal(line?.traceId, refused.traceId, 'the decision log line names the trace of its decision')
  t.equal(line?.reqId, refused.attributes['tokengate.request_id'], 'and the request id the span carries')
})

t.test('a trusted proxy\'s traceparent is continued: same trace id, the proxy\'s span as parent (W3C Trace Context §3.2)', async (t) => {
  const receiver = await startOtlpReceiver(t)
  // The test talks from 127.0.0.1, a trusted proxy by default.
  const gw = await startGateway(t, tracingEnv(t, receiver))
  await call(`${gw.url}/auth/verify`, { token: sign(), headers: { traceparent: TRACEPARENT, 'x-request-id': 'ingress-42' } })
  const [span] = await spansNamed(receiver, 'tokengate.decision', 1)
  t.equal(span.traceId, INCOMING_TRACE)
  t.equal(span.parentSpanId, INCOMING_PARENT)
  t.equal(span.attributes['tokengate.request_id'], 'ingress-42', 'the ingress\'s request id and its trace go together')
})

t.test('a client outside TRUSTED_PROXIES cannot choose the trace: its traceparent starts nothing, a new root trace does', async (t) => {
  const receiver = await startOtlpReceiver(t)
  const gw = await startGateway(t, { ...tracingEnv(t, receiver), TRUSTED_PROXIES: '10.9.9.9' })
  await call(`${gw.url}/auth/verify`, { token: sign(), headers: { traceparent: TRACEPARENT } })
  const [span] = await spansNamed(receiver, 'tokengate.decision', 1)
  t.not(span.traceId, INCOMING_TRACE)
  t.equal(span.parentSpanId, '', 'a root span')
})

t.test('a JWKS fetch for an unknown kid is a child span of the decision that waited for it', async (t) => {
  const receiver = await startOtlpReceiver(t)
  const a = keyPair('rsa')
  const b = keyPair('rsa')
  let keys = [{ ...a.publicKey.export({ format: 'jwk' }), kid: 'key-a', use: 'sig' }]
  const jwks = createServer((_req, res) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ keys })) })
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { jwks.closeAllConnections(); jwks.close() })
  const address = jwks.address()
  const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/jwks.json`
  const clock = manualClock()
  const gw = await startGateway(t, { ...tracingEnv(t, receiver), JWT_SECRET: '', JWT_ALGORITHMS: 'RS256', JWKS_URL: url, JWKS_COOLDOWN_S: '1' }, { now: clock.now })
  keys = [...keys, { ...b.publicKey.export({ format: 'jwk' }), kid: 'key-b', use: 'sig' }]
  clock.advance(1000)
  t.equal((await call(`${gw.url}/auth/verify`, { token: sign({ key: b.privatePem, algorithm: 'RS256', kid: 'key-b' }) })).status, 200)
  const fetches = await spansNamed(receiver, 'tokengate.jwks.fetch', 2)
  const [decision] = await spansNamed(receiver, 'tokengate.decision', 1)
  t.equal(fetches[0].parentSpanId, '', 'the start-up fetch is a trace of its own')
  const refetch = fetches[1]
  t.equal(refetch.kind, CLIENT)
  t.equal(refetch.traceId, decision.traceId)
  t.equal(refetch.parentSpanId, decision.spanId, 'the refetch is the decision\'s child')
  t.equal(refetch.attributes['tokengate.jwks.keys'], 2)
  t.equal(refetch.attributes['url.full'], url)
})

t.test('a revocation write (logout) is a span of its own', async (t) => {
  const receiver = await startOtlpReceiver(t)
  const gw = await startGateway(t, tracingEnv(t, receiver))
  const token = sign()
  t.equal((await call(`${gw.url}/auth/logout`, { method: 'POST', token })).status, 200)
  const [write] = await spansNamed(receiver, 'tokengate.revocation.write', 1)
  t.match(write.attributes, { 'tokengate.revocation.kind': 'jti', 'tokengate.revocation.reason': 'logout' })
  t.not(write.status, ERROR)
})

t.test('a Redis lookup past MAX_STALENESS_MS is a child span of its decision; one that times out is failed', async (t) => {
  const receiver = await startOtlpReceiver(t)
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const proxy = await startFaultProxy(redis.port)
  t.teardown(() => proxy.close())
  const gw = await startGateway(t, { ...tracingEnv(t, receiver), REDIS_URL: proxy.url, FAIL_MODE: 'closed', MAX_STALENESS_MS: '500', REVOCATION_CHECK_TIMEOUT_MS: '50' })
  t.ok(await until(() => gw.app.tokengate.replica.current), 'the state is loaded')
  proxy.blackhole()
  t.ok(await until(() => !gw.app.tokengate.replica.current, 2000), 'the state is stale')
  t.equal((await call(`${gw.url}/auth/verify`, { token: sign() })).status, 503, 'FAIL_MODE=closed: the store could not say')
  const [lookup] = await spansNamed(receiver, 'tokengate.revocation.lookup', 1)
  const [decision] = await spansNamed(receiver, 'tokengate.decision', 1)
  t.equal(lookup.kind, CLIENT)
  t.equal(lookup.traceId, decision.traceId)
  t.equal(lookup.parentSpanId, decision.spanId, 'the lookup is the decision\'s child')
  t.equal(lookup.attributes['tokengate.revocation.lookup'], 'timeout')
  t.equal(lookup.status, ERROR)
  t.match(decision.attributes, { 'tokengate.outcome': 'denied', 'tokengate.revocation.source': 'fail_mode', 'tokengate.error.reason': 'store_unavailable' })
  proxy.heal()
})
