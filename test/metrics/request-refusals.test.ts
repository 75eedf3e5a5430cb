import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { buildRequest, rawRequest } from '../helpers/raw-http.js'
import { EARLY_REFUSALS } from '../../src/server/refusal-report.js'
import { scrape, valueOf, type Sample } from '../helpers/scrape.js'
import { tempFile } from '../helpers/temp-dir.js'
import { sign } from '../helpers/tokens.js'
import { startUpstream } from '../helpers/upstream.js'

// Issue 16 item 4: requests refused before the decision were in no metric and
// no log, so a scanner probing encodings went unseen. Now they are counted in
// tokengate_request_refusals_total{mode,reason} and logged, rate-limited.

const RULES = tempFile(t, 'rules.json', JSON.stringify([{ method: 'POST', path: '/payments', scopes: ['payments:write'] }]))
const FAMILY = 'tokengate_request_refusals_total'

t.test('proxy mode: ambiguous paths, query overrides and absolute-form targets are counted by reason', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url, METRICS_ON_MAIN_PORT: 'true' })
  const token = sign()
  for (const path of ['/a/%2e%2e/b', '/a%2fb', '/a;x=1']) t.equal((await rawRequest(gw.url, buildRequest('GET', path, [['Authorization', `Bearer ${token}`]]))).status, 400, path)
  for (const query of ['_method=DELETE', '%5Fmethod=PUT']) t.equal((await call(`${gw.url}/orders?${query}`, { method: 'POST', token })).status, 400, query)
  t.equal((await call(`${gw.url}/%E2%84%AAyc`, { token })).status, 400, 'KELVIN SIGN')
  t.equal((await rawRequest(gw.url, buildRequest('GET', 'http://other.example/x', [['Authorization', `Bearer ${token}`]]))).status, 400)
  t.equal((await call(`${gw.url}/fine`, { token })).status, 200)
  const samples = await scrape(gw.url)
  t.equal(valueOf(samples, FAMILY, { mode: 'proxy', reason: 'ambiguous_path' }), 3)
  t.equal(valueOf(samples, FAMILY, { mode: 'proxy', reason: 'method_override' }), 2)
  t.equal(valueOf(samples, FAMILY, { mode: 'proxy', reason: 'ambiguous_unicode' }), 1)
  t.equal(valueOf(samples, FAMILY, { mode: 'proxy', reason: 'bad_request' }), 1)
  t.equal(valueOf(samples, FAMILY, { mode: 'forward_auth' }), 0)
  t.equal(upstream.seen.length, 1, 'only the allowed request reached the upstream')
})

t.test('forward-auth mode: every refusal before the decision is counted by reason', async (t) => {
  const gw = await startGateway(t, { ACCESS_RULES_FILE: RULES })
  const token = sign()
  const verify = async (headers: Record<string, string>): Promise<number> => (await call(`${gw.url}/auth/verify`, { token, headers })).status
  t.equal(await verify({ 'x-original-uri': '//payments' }), 400)
  t.equal(await verify({ 'x-original-uri': '/%E2%84%AAyc' }), 400)
  t.equal(await verify({ 'x-original-uri': '/x/%2e%2e/payments' }), 400)
  t.equal(await verify({ 'x-original-uri': '/payments?_method=DELETE' }), 400)
  t.equal(await verify({ 'x-original-uri': '/payments', 'x-http-method-override': 'DELETE' }), 400)
  t.equal(await verify({}), 400)
  t.equal(await verify({ 'x-original-uri': '/a', 'x-forwarded-uri': '/b' }), 400)
  t.equal(await verify({ 'x-original-uri': '/accounts' }), 200)
  const samples = await scrape(gw.url)
  for (const reason of ['path_not_normal', 'ambiguous_unicode', 'ambiguous_path', 'method_override', 'ambiguous_header', 'original_uri_missing', 'bad_request']) {
    t.equal(valueOf(samples, FAMILY, { mode: 'forward_auth', reason }), 1, reason)
  }
  t.equal(valueOf(samples, FAMILY, { mode: 'proxy' }), 0)
})

t.test('every refusal series of the modes served is exported at 0 before the first refusal (increase() sees the first one)', async (t) => {
  const upstream = await startUpstream(t)
  const proxy = await scrape((await startGateway(t, { UPSTREAM_URL: upstream.url, METRICS_ON_MAIN_PORT: 'true' })).url)
  const present = (samples: Sample[], mode: string, reason: string): boolean =>
    samples.some((s) => s.name === FAMILY && s.labels.mode === mode && s.labels.reason === reason && s.value === 0)
  for (const [mode, failures] of Object.entries(EARLY_REFUSALS)) {
    for (const { reason } of failures) t.ok(present(proxy, mode, reason), `${mode} ${reason}`)
  }
  const forwardAuthOnly = await scrape((await startGateway(t, {})).url)
  t.ok(present(forwardAuthOnly, 'forward_auth', 'ambiguous_path'))
  t.notOk(forwardAuthOnly.some((s) => s.name === FAMILY && s.labels.mode === 'proxy'), 'no proxy series without UPSTREAM_URL')
})

t.test('a scanner burst is logged at warn within the per-reason budget, never with the token or query values', async (t) => {
  const gw = await startGateway(t, { ACCESS_RULES_FILE: RULES })
  const token = sign()
  const started = Date.now()
  for (let i = 0; i < 60; i++) {
    const res = await call(`${gw.url}/auth/verify`, { token, headers: { 'x-original-uri': `/pay%6Dents/${i}?_method=x&secret=query-value-${i}` } })
    t.equal(res.status, 400)
  }
  const seconds = Math.ceil((Date.now() - started) / 1000) + 1
  const lines = gw.logs.filter((line) => line.includes('refused before the decision')).map((line) => JSON.parse(line))
  t.ok(lines.length >= 1, 'the burst is visible in the log')
  t.ok(lines.length <= 5 * seconds, `${lines.length} lines in at most ${seconds} seconds`)
  t.ok(lines.every((line) => line.level === 40 && line.mode === 'forward_auth'))
  const text = gw.logs.join('\n')
  t.notMatch(text, token.split('.')[2] as string, 'never the token')
  t.notMatch(text, /query-value|secret=/, 'never the query')
  t.equal(valueOf(await scrape(gw.url), FAMILY, { mode: 'forward_auth' }), 60, 'every refusal is counted')
})
