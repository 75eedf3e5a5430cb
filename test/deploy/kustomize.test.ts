import { spawnSync } from 'node:child_process'
import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { parseAllDocuments } from 'yaml'
import { loadConfig } from '../../src/config/load.js'
import { ConfigError } from '../../src/errors.js'
import { tempDir } from '../helpers/temp-dir.js'
import { DEPLOY, type Doc } from './deploy-files.js'
import { schemaErrors, unknownFields } from './kubernetes-schemas.js'

// The overlays as kubectl renders them, alone and with each optional component: what applies on
// a cluster without the Prometheus Operator, Redis with a password, the native sidecar, an
// identity provider's JWKS. Each rendering's tokengate configuration is loaded by src/config;
// each rendered object is checked against the Kubernetes schemas of kubernetes-models.

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0
const skip = kubectl ? false : 'kubectl not installed'

/**
 * `kubectl kustomize` of an overlay, from a copy of deploy/kubernetes whose overlay lists
 * `components` too; of the base alone for overlay 'base'.
 */
function render (overlay: string, components: string[] = []): Doc[] {
  const dir = tempDir(t, 'tg-kustomize-')
  cpSync(join(DEPLOY, 'kubernetes'), dir, { recursive: true })
  const target = overlay === 'base' ? join(dir, 'base') : join(dir, 'overlays', overlay)
  const file = join(target, 'kustomization.yaml')
  const text = readFileSync(file, 'utf8')
  const added = components.map((c) => `  - ../../components/${c}\n`).join('')
  // At the end of the list, as the docs say: native-sidecar moves a container the others patch.
  if (added !== '') writeFileSync(file, text.replace('\npatches:\n', `\n${added}patches:\n`))
  const out = spawnSync('kubectl', ['kustomize', target], { encoding: 'utf8' })
  if (out.status !== 0) throw new Error(`kubectl kustomize ${overlay} + ${components.join(', ')}: ${out.stderr}`)
  return parseAllDocuments(out.stdout).map((d) => d.toJS() as Doc)
}

const get = (docs: Doc[], kind: string, name: string): Doc => {
  const found = docs.find((d) => d.kind === kind && d.metadata.name === name)
  if (found === undefined) throw new Error(`no ${kind}/${name}`)
  return found
}
const podSpecs = (docs: Doc[]): Doc[] => docs.filter((d) => d.spec?.template?.spec !== undefined).map((d) => d.spec.template.spec)
const tokengateContainer = (docs: Doc[]): Doc => podSpecs(docs).flatMap((p) => [...(p.initContainers ?? []), ...p.containers]).find((c: Doc) => c.name === 'tokengate')

/**
 * The environment the tokengate container gets: its envFrom ConfigMaps and Secrets, then its
 * env (values and secretKeyRefs), as the kubelet builds it.
 */
function environment (docs: Doc[]): Record<string, string> {
  const c = tokengateContainer(docs)
  const dataOf = (kind: string, name: string): Record<string, string> => {
    const o = get(docs, kind, name)
    const data: Record<string, string> = { ...o.stringData }
    for (const [k, v] of Object.entries(o.data ?? {})) data[k] = kind === 'Secret' ? Buffer.from(String(v), 'base64').toString('utf8') : String(v)
    return data
  }
  const env: Record<string, string> = {}
  for (const from of c.envFrom ?? []) Object.assign(env, from.configMapRef !== undefined ? dataOf('ConfigMap', from.configMapRef.name) : dataOf('Secret', from.secretRef.name))
  for (const e of c.env ?? []) env[e.name] = e.value ?? dataOf('Secret', e.valueFrom.secretKeyRef.name)[e.valueFrom.secretKeyRef.key]
  return env
}

const VARIANTS: Array<{ overlay: string, components: string[] }> = [
  { overlay: 'standalone', components: [] },
  { overlay: 'sidecar', components: [] },
  { overlay: 'standalone', components: ['monitoring', 'oidc-issuer'] },
  { overlay: 'sidecar', components: ['monitoring', 'native-sidecar', 'oidc-issuer'] }
]
const label = (overlay: string, components: string[]): string => `${overlay}${components.map((c) => ` + ${c}`).join('')}`

for (const { overlay, components } of VARIANTS) {
  t.test(label(overlay, components), { skip }, async (t) => {
    const docs = render(overlay, components)
    // Types, required fields and enums of every object, the Prometheus Operator's included.
    t.same(await schemaErrors(docs), [], 'every object valid against its Kubernetes schema')
    const operator = docs.filter((d) => String(d.apiVersion).startsWith('monitoring.coreos.com/'))
    if (components.includes('monitoring')) t.same(operator.map((d) => d.kind).sort(), ['PrometheusRule', 'ServiceMonitor'])
    else t.same(operator, [], 'no Prometheus Operator object: applies on any cluster')

    for (const pod of podSpecs(docs)) t.equal(pod.enableServiceLinks, false, 'no service-link variables (TOKENGATE_PORT, ...) in any pod')

    // Clients reach tokengate's HTTP port only; /metrics is on its own Service.
    const metricsPort = Number(environment(docs).METRICS_PORT)
    for (const service of docs.filter((d) => d.kind === 'Service' && d.metadata.name !== 'tokengate-metrics')) {
      t.notOk(service.spec.ports.some((p: Doc) => p.targetPort === 'metrics' || p.port === metricsPort), `${service.metadata.name}: no metrics port`)
    }
    t.match(get(docs, 'Service', 'tokengate-metrics').spec.ports, [{ name: 'metrics', targetPort: 'metrics' }])

    // Redis with a password from the Secret; tokengate's REDIS_URL from the same Secret; only tokengate's pods admitted.
    const redis = get(docs, 'StatefulSet', 'tokengate-redis').spec.template.spec.containers[0]
    t.same(redis.args.slice(-2), ['--requirepass', '$(REDIS_PASSWORD)'])
    t.match(redis.env, [{ name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: 'tokengate-redis', key: 'password' } } }, { name: 'REDISCLI_AUTH' }])
    t.match(tokengateContainer(docs).env, [{ name: 'REDIS_URL', valueFrom: { secretKeyRef: { name: 'tokengate-redis', key: 'url' } } }])
    t.notOk('REDIS_URL' in get(docs, 'ConfigMap', 'tokengate-config').data, 'no Redis URL (with its password) in a ConfigMap')
    const secret = get(docs, 'Secret', 'tokengate-redis').stringData
    t.equal(new URL(secret.url).password, secret.password, 'the URL holds the password Redis requires')
    t.match(get(docs, 'NetworkPolicy', 'tokengate-redis').spec, { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'tokengate-redis' } }, ingress: [{ from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'tokengate' } } }] }] })
    t.ok(docs.some((d) => d.kind === 'NetworkPolicy' && d.metadata.name === 'tokengate'))

    if (components.includes('native-sidecar')) {
      const pod = podSpecs(docs).find((p) => (p.initContainers ?? []).length > 0) ?? {}
      t.match(pod.initContainers, [{ name: 'tokengate', restartPolicy: 'Always' }], 'tokengate is a native sidecar (Kubernetes 1.29+)')
      t.same(pod.containers.map((c: Doc) => c.name), ['finance-api'])
    }

    // The configuration each rendering gives tokengate loads, once the Secrets' placeholders are replaced.
    const env = environment(docs)
    if (components.includes('oidc-issuer')) {
      t.notOk('JWT_SECRET' in env, 'keys from the identity provider\'s JWKS, no shared secret')
      t.match(JSON.parse(env.JWT_ISSUERS), [{ discovery: true }])
    } else {
      t.throws(() => loadConfig(env), ConfigError, 'the placeholder JWT_SECRET stops start-up')
      env.JWT_SECRET = 'x'.repeat(48)
    }
    let config
    try {
      config = loadConfig(env)
    } catch (err) {
      t.fail(`the rendered configuration loads: ${(err as Error).message}`)
      return
    }
    t.equal(config.production, true)
    t.equal(config.host, '0.0.0.0')
  })
}

// The schema checks refuse what a cluster would refuse: a broken object fails them.
const brokenDeployment = (): Doc => get(render('standalone'), 'Deployment', 'tokengate')

t.test('the schemas refuse wrong types, bad enums, missing and unknown fields', { skip }, async (t) => {
  const wrongType = brokenDeployment()
  wrongType.spec.replicas = 'two'
  t.match(await schemaErrors([wrongType]), [/^Deployment\/tokengate: .*replicas.*must be integer/], 'replicas: "two"')
  const badEnum = brokenDeployment()
  badEnum.spec.template.spec.restartPolicy = 'Sometimes'
  t.match(await schemaErrors([badEnum]), [/^Deployment\/tokengate: .*restartPolicy.*must be equal to one of the allowed values/], 'restartPolicy: Sometimes')
  const missing = brokenDeployment()
  delete missing.spec.template.spec.containers[0].name
  t.match(await schemaErrors([missing]), [/^Deployment\/tokengate: .*containers\/0 must have required property name/], 'a container without a name')
  t.match(await schemaErrors([{ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }]), ['Widget/w: no schema for example.com/v1 Widget'], 'an object of a kind with no schema')
  const unknown = brokenDeployment()
  unknown.spec.template.spec.enableServiceLink = false
  t.same(await schemaErrors([unknown]), [], 'the compiled schemas let an unknown field through...')

  // ... unknownFields does not: one tsc run over the base, every variant and the broken objects.
  const sets: Record<string, Doc[]> = { base: render('base') }
  for (const { overlay, components } of VARIANTS) sets[label(overlay, components)] = render(overlay, components)
  t.same(await schemaErrors(sets.base!), [], 'base alone: every object valid against its Kubernetes schema')
  const found = unknownFields({ ...sets, unknown: [unknown], wrongType: [wrongType] })
  for (const set of Object.keys(sets)) t.same(found[set], [], `${set}: no field unknown to the schemas`)
  t.match(found.unknown, [/^Deployment\/tokengate: .*'"enableServiceLink"' does not exist in type 'IPodSpec'/], 'a misspelt enableServiceLinks is refused')
  t.match(found.wrongType, [/^Deployment\/tokengate: .*Type 'string' is not assignable to type 'number'/], 'replicas: "two" is refused')
})
