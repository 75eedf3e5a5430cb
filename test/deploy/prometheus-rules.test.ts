import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { parseMetrics } from '../helpers/scrape.js'
import { keyPair } from '../helpers/tokens.js'
import { startUpstream } from '../helpers/upstream.js'
import { docsOf } from './deploy-files.js'
import { promtool, promtoolMissing, shippedRuleGroups, stageRules } from './promtool.js'
import { tempDir } from '../helpers/temp-dir.js'
import { declaredFamilies, familyOf, metricNames } from './promql.js'

// The PrometheusRule in deploy/kubernetes/components/monitoring, checked by
// the real promtool: its spec is the plain rule file promtool reads.
const skip = promtoolMissing
const rules: Array<{ alert: string, expr: string }> = shippedRuleGroups().groups.flatMap((g: { rules: [] }) => g.rules)

t.test('promtool check rules accepts the shipped rules', { skip }, async (t) => {
  const dir = tempDir(t, 'tg-rules-')
  stageRules(dir)
  const run = promtool(['check', 'rules', 'tokengate.rules.yaml'], dir)
  t.equal(run.code, 0, run.output)
  t.match(run.output, `SUCCESS: ${rules.length} rules found`)
})

t.test('promtool test rules: each alert fires on its input series and stays quiet below its threshold', { skip }, async (t) => {
  const dir = tempDir(t, 'tg-rules-')
  stageRules(dir)
  const run = promtool(['test', 'rules', 'prometheusrule.test.yaml'], dir)
  t.equal(run.code, 0, run.output)
  t.match(run.output, /SUCCESS/)
  const tested = readTestedAlerts()
  for (const { alert } of rules) t.ok(tested.has(alert), `${alert} has a promtool test`)
})

// Prometheus's own series: `up` for a target it scrapes.
const PROMETHEUS_SERIES = new Set(['up'])

t.test('every series an alert reads is exported by a running gateway, with a sample from start-up', async (t) => {
  // increase() of a series that appears at 1 sees no increase: the first
  // CRITICAL alert or Redis error would never fire. So each must start at 0.
  // Every feature an alert watches is on: a JWKS, an upstream, a webhook.
  const jwks = await startJwks(t)
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, {
    JWT_ALGORITHMS: 'HS256,RS256',
    JWKS_URL: jwks,
    UPSTREAM_URL: upstream.url,
    METRICS_ON_MAIN_PORT: 'true',
    ALERT_WEBHOOK_URL: 'http://127.0.0.1:9/hook'
  })
  const text = (await call(`${gw.url}/metrics`)).text
  const families = declaredFamilies(text)
  const sampled = new Set(parseMetrics(text).map((s) => s.name))
  for (const { alert, expr } of rules) {
    const names = metricNames(expr).filter((name) => !PROMETHEUS_SERIES.has(name))
    t.ok(names.length > 0 || alert === 'TokengateTargetDown', `${alert} reads a metric`)
    for (const name of names) {
      t.ok(familyOf(name, families), `${alert}: ${name} is a family tokengate exports`)
      t.ok(sampled.has(name), `${alert}: ${name} has a sample before any traffic`)
    }
  }
})

/** A JWKS endpoint with one RSA key, as an identity provider serves it. */
async function startJwks (t: { teardown: (fn: () => unknown) => void }): Promise<string> {
  const jwk = { ...keyPair('rsa').publicKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig' }
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`
}

/** Alerts that some promtool test expects to fire. */
function readTestedAlerts (): Set<string> {
  const tests = docsOf('deploy/kubernetes/components/monitoring/prometheusrule.test.yaml')[0].tests as Array<{ alert_rule_test: Array<{ alertname: string, exp_alerts: unknown[] }> }>
  return new Set(tests.flatMap((test) => test.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)))
}
