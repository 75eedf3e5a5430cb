import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { DEPLOY, docsOf, type Doc } from './deploy-files.js'

export const PROMTOOL = process.env.PROMTOOL_BIN ?? '/usr/bin/promtool'
export const promtoolMissing = existsSync(PROMTOOL) ? false : `promtool not found at ${PROMTOOL} (apt-get install prometheus; .ci/run installs it)`

export const RULE_DIR = join(DEPLOY, 'kubernetes/components/monitoring')

export interface PromtoolRun { readonly code: number | null, readonly output: string }

export function promtool (args: string[], cwd: string): PromtoolRun {
  const run = spawnSync(PROMTOOL, args, { cwd, encoding: 'utf8', timeout: 60_000 })
  return { code: run.status, output: `${run.stdout}${run.stderr}` }
}

/** The PrometheusRule's spec (its `groups`), the plain rule file promtool reads. */
export function shippedRuleGroups (): Doc {
  const rule = docsOf('deploy/kubernetes/components/monitoring/prometheusrule.yaml').find((d) => d.kind === 'PrometheusRule')
  if (rule === undefined) throw new Error('no PrometheusRule in prometheusrule.yaml')
  return rule.spec
}

/** Writes the shipped rules as tokengate.rules.yaml, with the promtool test file beside it, into `dir`. */
export function stageRules (dir: string): void {
  writeFileSync(join(dir, 'tokengate.rules.yaml'), stringify(shippedRuleGroups()))
  copyFileSync(join(RULE_DIR, 'prometheusrule.test.yaml'), join(dir, 'prometheusrule.test.yaml'))
}
