import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { freePort, startRedis } from '../helpers/redis.js'
import { sign } from '../helpers/tokens.js'
import { startUpstream } from '../helpers/upstream.js'
import { loadConfig } from '../../src/config/load.js'
import { configProblems } from '../helpers/config.js'
import { parseMetrics, scrape, valueOf } from '../helpers/scrape.js'
import { until } from '../helpers/until.js'
import { PROMTOOL, promtoolMissing } from '../deploy/promtool.js'

const admin = (): string => sign({ claims: { sub: 'ops-1', roles: ['admin'] } })

t.test('decisions are counted by result and reason as traffic flows', async (t) => {
  const gw = await startGateway(t)
  const good = sign()
  for (let i = 0; i < 3; i++) t.equal((await call(`${gw.url}/auth/verify`, { token: good })).status, 200)
  await call(`${gw.url}/auth/verify`, { token: sign({ key: 'some-other-secret-that-is-32-bytes-long!!' }) })
  await call(`${gw.url}/auth/verify`, { token: 'not-a-jwt' })
  const revoked = sign()
  await call(`${gw.url}/auth/logout`, { method: 'POST', token: revoked })
  await call(`${gw.url}/auth/verify`, { token: revoked })
  const samples = await scrape(gw.url)
  t.equal(valueOf(samples, 'tokengate_decisions_total', { result: 'allow', reason: 'valid' }), 3, 'three forward-auth allows')
  t.equal(valueOf(samples, 'tokengate_decisions_total', { result: 'deny', reason: 'bad_signature' }), 1)
  t.equal(valueOf(samples, 'tokengate_decisions_total', { result: 'deny', reason: 'malformed' }), 1)
  t.equal(valueOf(samples, 'tokengate_decisions_total', { result: 'deny', reason: 'revoked' }), 1)
  t.equal(valueOf(samples, 'tokengate_revocations_total', { kind: 'jti', reason: 'logout' }), 1)
  t.equal(valueOf(samples, 'tokengate_revocations_total', { kind: 'session', reason: 'logout' }), 1)
})

t.test('tokengate_revocations_total counts every mark written: a logout that ends a second session counts two of each', async (t) => {
  const gw = await startGateway(t)
  const access = sign({ claims: { sid: 'a' } })
  const refresh = sign({ claims: { sid: 'b', token_type: 'refresh' } })
  const res = await call(`${gw.url}/auth/logout`, { method: 'POST', token: access, json: { refresh_token: refresh } })
  t.equal(res.status, 200)
  const samples = await scrape(gw.url)
  t.equal(valueOf(samples, 'tokengate_revocations_total', { kind: 'jti', reason: 'logout' }), 2, 'the access and the refresh token')
  t.equal(valueOf(samples, 'tokengate_revocations_total', { kind: 'session', reason: 'logout' }), 2, 'both sessions')
})

t.test('a current replica answers every check from its local state: hits, no store lookup (Redis)', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const gw = await startGateway(t, { REDIS_URL: redis.url })
  for (let i = 0; i < 5; i++) t.equal((await call(`${gw.url}/auth/verify`, { token: sign() })).status, 200)
  const samples = await scrape(gw.url)
  t.equal(valueOf(samples, 'tokengate_revocation_cache_hits_total'), 5, 'five never-seen tokens, five local answers')
  t.equal(valueOf(samples, 'tokengate_revocation_cache_misses_total'), 0, 'no check went to Redis')
  t.equal(valueOf(samples, 'tokengate_revocation_check_duration_seconds_count'), 0, 'the histogram times store lookups only')
  const buckets = samples.filter((s) => s.name === 'tokengate_revocation_check_duration_seconds_bucket').map((s) => s.labels.le)
  t.ok(buckets.includes('0.0001') && buckets.includes('0.1'), 'sub-millisecond buckets up to 100 ms')
  t.equal(valueOf(samples, 'tokengate_breaker_state'), 0, 'breaker closed')
  t.ok(valueOf(samples, 'process_cpu_user_seconds_total') > 0, 'default process metrics')
})

t.test('a dead Redis: once the state is older than MAX_STALENESS_MS, checks go to the store and fail (store errors, lookup time)', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const gw = await startGateway(t, { REDIS_URL: redis.url, FAIL_MODE: 'closed', REVOCATION_CHECK_TIMEOUT_MS: '20', MAX_STALENESS_MS: '500' })
  await redis.kill()
  t.ok(await until(async () => (await call(`${gw.url}/auth/verify`, { token: sign() })).status === 503, 3000), 'FAIL_MODE=closed refuses once the state is stale')
  const samples = await scrape(gw.url)
  const errors = valueOf(samples, 'tokengate_store_errors_total')
  t.ok(errors >= 1, `the failed lookups are store errors (${errors})`)
  t.ok(valueOf(samples, 'tokengate_revocation_cache_misses_total') >= 1, 'stale checks count as store lookups')
  t.ok(valueOf(samples, 'tokengate_revocation_check_duration_seconds_sum') > 0, 'lookup time is recorded')
  const status = await call(`${gw.url}/admin/blacklist/status`, { token: admin() })
  t.equal(status.status, 503, 'an admin call is refused too: its own token cannot be checked')
})

t.test('refresh rotation and reuse are counted', async (t) => {
  const gw = await startGateway(t)
  const refresh = sign({ claims: { token_type: 'refresh', sid: 's-1' } })
  t.equal((await call(`${gw.url}/auth/refresh`, { method: 'POST', json: { refresh_token: refresh } })).status, 200)
  t.equal((await call(`${gw.url}/auth/refresh`, { method: 'POST', json: { refresh_token: refresh } })).status, 401)
  const samples = await scrape(gw.url)
  t.equal(valueOf(samples, 'tokengate_refresh_rotations_total'), 1)
  t.equal(valueOf(samples, 'tokengate_refresh_reuse_total'), 1)
})

t.test('upstream latency and responses are labelled by status class only, never by path', async (t) => {
  const upstream = await startUpstream(t)
  upstream.handle((req, res) => { res.statusCode = req.url?.startsWith('/missing') === true ? 404 : 200; res.end('{}') })
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url, METRICS_ON_MAIN_PORT: 'true' })
  const token = sign()
  await call(`${gw.url}/accounts/12345/balance`, { token })
  await call(`${gw.url}/missing/user-secret-path`, { token })
  await call(`${gw.url}/accounts/1`)
  const res = await call(`${gw.url}/metrics`)
  const samples = parseMetrics(res.text)
  t.equal(valueOf(samples, 'tokengate_upstream_responses_total', { status_class: '2xx' }), 1)
  t.equal(valueOf(samples, 'tokengate_upstream_responses_total', { status_class: '4xx' }), 1, 'the 401 never reached the upstream')
  t.equal(valueOf(samples, 'tokengate_upstream_duration_seconds_count'), 2)
  t.notOk(samples.some((s) => s.name.startsWith('tokengate_upstream_') && 'route' in s.labels), 'no route label (one catch-all route said nothing)')
  t.notMatch(res.text, /12345|user-secret-path|user-1/, 'no path or user in any label')
})

t.test('METRICS_PORT moves /metrics off the main port', async (t) => {
  const port = await freePort()
  const gw = await startGateway(t, { METRICS_PORT: String(port) })
  await call(`${gw.url}/auth/verify`, { token: sign() })
  t.equal((await call(`${gw.url}/metrics`)).status, 404, 'not on the main port')
  const samples = await scrape(`http://127.0.0.1:${port}`)
  t.equal(valueOf(samples, 'tokengate_decisions_total', { result: 'allow' }), 1)
  // Every answer comes from the error registry, the metrics listener's too.
  const other = await call(`http://127.0.0.1:${port}/other`)
  t.equal(other.status, 404, 'METRICS_PORT serves /metrics only')
  t.same(other.body, { error: 'not_found', error_description: 'No such route' })
  t.equal(other.headers.get('cache-control'), 'no-store', 'answered as every registry failure is')
})

t.test('proxy mode: /metrics on the main port is the upstream\'s path, never tokengate\'s metrics, by default', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url })
  const anonymous = await call(`${gw.url}/metrics`)
  t.equal(anonymous.status, 401, 'a protected path like any other')
  const proxied = await call(`${gw.url}/metrics`, { token: sign() })
  t.equal(proxied.status, 200)
  t.equal(proxied.body.url, '/metrics', 'the upstream answered')
  t.notMatch(proxied.text, /tokengate_/)
})

t.test('proxy mode: METRICS_ON_MAIN_PORT=true serves them there; METRICS_PORT serves them apart', async (t) => {
  const upstream = await startUpstream(t)
  const asked = await startGateway(t, { UPSTREAM_URL: upstream.url, METRICS_ON_MAIN_PORT: 'true' })
  t.ok(valueOf(await scrape(asked.url), 'tokengate_decisions_total') >= 0)
  const port = await freePort()
  const apart = await startGateway(t, { UPSTREAM_URL: upstream.url, METRICS_PORT: String(port) })
  t.ok((await scrape(`http://127.0.0.1:${port}`)).length > 0)
  t.equal((await call(`${apart.url}/metrics`)).status, 401, 'not on the main port')
  t.equal(upstream.seen.length, 0)
})

t.test('METRICS_ON_MAIN_PORT: defaults by mode, and true with METRICS_PORT stops start-up', async (t) => {
  const base = { JWT_SECRET: 'x'.repeat(32) }
  t.equal(loadConfig(base).metricsOnMainPort, true, 'forward-auth mode: on the main port')
  t.equal(loadConfig({ ...base, UPSTREAM_URL: 'http://127.0.0.1:9' }).metricsOnMainPort, false, 'proxy mode: not there')
  t.equal(loadConfig({ ...base, METRICS_PORT: '9100' }).metricsOnMainPort, false)
  t.match(configProblems({ ...base, METRICS_PORT: '9100', METRICS_ON_MAIN_PORT: 'true' }), [/^METRICS_ON_MAIN_PORT: /])
  t.match(configProblems({ ...base, METRICS_ON_MAIN_PORT: 'yes' }), [/^METRICS_ON_MAIN_PORT: /])
})

// Issue 20 item 4: what a dashboard and an alert need, on a scrape Prometheus's own linter accepts.
t.test('a live scrape passes promtool check metrics, HEAD /metrics answers on both listeners, build_info names the version', { skip: promtoolMissing }, async (t) => {
  const port = await freePort()
  const gw = await startGateway(t, { METRICS_PORT: String(port) })
  await call(`${gw.url}/auth/verify`, { token: sign() })
  await call(`${gw.url}/auth/verify`, { token: 'junk' })
  const text = (await call(`http://127.0.0.1:${port}/metrics`)).text
  const lint = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' })
  t.equal(lint.status, 0, `promtool check metrics: ${lint.stdout}${lint.stderr}`)
  const samples = parseMetrics(text)
  const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version
  t.equal(valueOf(samples, 'tokengate_build_info', { version, node: process.version }), 1)
  t.ok(samples.some((s) => s.name === 'tokengate_revocation_state_reloads_total'), 'reloads are a counter')
  const head = await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'HEAD' })
  t.equal(head.status, 200)
  t.match(head.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  t.equal(await head.text(), '', 'no body')
  const main = await startGateway(t, {})
  t.equal((await fetch(`${main.url}/metrics`, { method: 'HEAD' })).status, 200, 'HEAD on the main port too')
})
