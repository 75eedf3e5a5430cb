import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { stringify } from 'yaml'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { DEPLOY } from './deploy-files.js'
import { declaredFamilies, familyOf, metricNames } from './promql.js'
import { promtool, promtoolMissing } from './promtool.js'
import { tempDir } from '../helpers/temp-dir.js'

// deploy/grafana/tokengate.json: every query parses (promtool) and reads only
// metrics a running tokengate exports.
interface Target { readonly refId: string, readonly expr: string, readonly datasource: { uid: string } }
interface Panel { readonly title: string, readonly type: string, readonly targets: Target[], readonly datasource: { type: string, uid: string } }

const dashboard = JSON.parse(readFileSync(join(DEPLOY, 'grafana/tokengate.json'), 'utf8'))
const panels: Panel[] = dashboard.panels
const queries = panels.flatMap((p) => p.targets.map((target) => ({ panel: p.title, expr: target.expr })))
const variableQuery: string = dashboard.templating.list.find((v: { name: string }) => v.name === 'job').definition

/** Panels name the datasource through the dashboard's variable, so an import picks the Prometheus to use. */
const DATASOURCE = '$' + '{datasource}'

/** Grafana's variables as values PromQL accepts: intervals for $__*, a regex for $job. */
function asPromql (expr: string): string {
  return expr.replace(/\$__\w+/g, '5m').replaceAll('$job', '.+')
}

t.test('a dashboard Grafana imports: uid, a Prometheus datasource variable on every panel and query', async (t) => {
  t.equal(dashboard.uid, 'tokengate')
  t.ok(panels.length >= 6, `${panels.length} panels`)
  t.ok(dashboard.templating.list.some((v: { type: string, query: string }) => v.type === 'datasource' && v.query === 'prometheus'))
  for (const panel of panels) {
    t.same(panel.datasource, { type: 'prometheus', uid: DATASOURCE }, panel.title)
    t.ok(panel.targets.length > 0, `${panel.title} has a query`)
    for (const target of panel.targets) t.equal(target.datasource.uid, DATASOURCE)
  }
  t.equal(new Set(panels.map((p) => p.title)).size, panels.length, 'titles are unique')
})

t.test('promtool parses every query (as recording rules)', { skip: promtoolMissing }, async (t) => {
  const dir = tempDir(t, 'tg-grafana-')
  const rules = queries.map((q, i) => ({ record: `tokengate:dashboard_query_${i}`, expr: asPromql(q.expr) }))
  writeFileSync(join(dir, 'dashboard.rules.yaml'), stringify({ groups: [{ name: 'dashboard', rules }] }))
  const run = promtool(['check', 'rules', 'dashboard.rules.yaml'], dir)
  t.equal(run.code, 0, run.output)
  t.match(run.output, `SUCCESS: ${queries.length} rules found`)
})

t.test('every metric a query reads is one a running gateway exports; the operators\' numbers are all there', async (t) => {
  const gw = await startGateway(t)
  const families = declaredFamilies((await call(`${gw.url}/metrics`)).text)
  t.ok(families.size > 10, `${families.size} families on /metrics`)
  const used = new Set<string>()
  for (const { panel, expr } of [...queries, { panel: 'variable job', expr: variableQuery.replace(/^label_values\(([^,]+),.*$/, '$1') }]) {
    const names = metricNames(asPromql(expr))
    t.ok(names.length > 0, `${panel}: reads a metric`)
    for (const name of names) {
      const family = familyOf(name, families)
      t.ok(family, `${panel}: ${name} is exported`)
      if (family !== null) used.add(family)
    }
  }
  for (const watched of ['tokengate_decisions_total', 'tokengate_revocation_check_duration_seconds', 'tokengate_revocation_cache_hits_total',
    'tokengate_revocation_cache_misses_total', 'tokengate_store_errors_total', 'tokengate_breaker_state', 'tokengate_security_alerts_total',
    'tokengate_request_refusals_total', 'tokengate_revocation_rollforward_pending', 'tokengate_revocation_rollforward_dropped_total',
    'tokengate_decision_duration_seconds', 'tokengate_jwks_keys', 'tokengate_jwks_fetches_total', 'tokengate_jwks_last_success_timestamp_seconds']) {
    t.ok(used.has(watched), `a panel shows ${watched}`)
  }
})
