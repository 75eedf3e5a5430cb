import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { parseMetrics } from '../helpers/scrape.js'
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

t.test('every series an alert reads is exported by a running gateway, with a sample from start-up', async (t) => {
  // increase() of a series that appears at 1 sees no increase: the first
  // CRITICAL alert or Redis error would never fire. So each must start at 0.
  const gw = await startGateway(t)
  const text = (await call(`${gw.url}/metrics`)).text
  const families = declaredFamilies(text)
  const sampled = new Set(parseMetrics(text).map((s) => s.name))
  for (const { alert, expr } of rules) {
    const names = metricNames(expr)
    t.ok(names.length > 0, `${alert} reads a metric`)
    for (const name of names) {
      t.ok(familyOf(name, families), `${alert}: ${name} is a family tokengate exports`)
      t.ok(sampled.has(name), `${alert}: ${name} has a sample before any traffic`)
    }
  }
})

/** Alerts that some promtool test expects to fire. */
function readTestedAlerts (): Set<string> {
  const tests = docsOf('deploy/kubernetes/components/monitoring/prometheusrule.test.yaml')[0].tests as Array<{ alert_rule_test: Array<{ alertname: string, exp_alerts: unknown[] }> }>
  return new Set(tests.flatMap((test) => test.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)))
}
