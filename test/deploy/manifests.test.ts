import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { parseAllDocuments } from 'yaml'
import { IDENTITY_HEADERS } from '../../src/decision/identity.js'
import { configVariables, container, containers, DEPLOY, docsOf, kubernetesObjects, ROOT, yamlFiles, type Doc } from './deploy-files.js'

const objects = kubernetesObjects()
const find = (kind: string, name: string, file?: RegExp): Doc[] =>
  objects.filter((o) => o.kind === kind && o.metadata?.name === name && (file === undefined || file.test(o.file)))
const one = (kind: string, name: string, file: RegExp): Doc => {
  const found = find(kind, name, file)
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name} in ${String(file)}, found ${found.length}`)
  return found[0]
}
const baseDeployment = one('Deployment', 'tokengate', /base\/deployment\.yaml$/)
const tokengate = container(baseDeployment, 'tokengate')
const baseConfig = one('ConfigMap', 'tokengate-config', /base\//).data as Record<string, string>

t.test('every YAML file under deploy/ parses', async (t) => {
  const files = yamlFiles()
  t.ok(files.length >= 15, `${files.length} files found`)
  for (const file of files) {
    t.same(file.errors, [], file.path)
    t.ok(file.docs.length > 0, `${file.path} has a document`)
  }
})

t.test('every environment variable set for tokengate is one the config module reads', async (t) => {
  const known = configVariables()
  for (const name of ['REDIS_URL', 'JWT_SECRET', 'JWT_PREVIOUS_SECRET', 'UPSTREAM_URL', 'ACCESS_RULES_FILE', 'NODE_ENV']) t.ok(known.has(name), `the scan finds ${name}`)
  const used: Array<[string, string]> = []
  // Kubernetes: keys of every ConfigMap/Secret (base or patch) that the tokengate container loads, and its env.
  const sources = new Set((tokengate.envFrom ?? []).map((from: Doc) => from.configMapRef?.name ?? from.secretRef?.name))
  t.same([...sources].sort(), ['tokengate-config', 'tokengate-jwt'])
  for (const o of objects.filter((o) => (o.kind === 'ConfigMap' || o.kind === 'Secret') && sources.has(o.metadata?.name))) {
    for (const key of Object.keys({ ...o.data, ...o.stringData })) used.push([o.file, key])
  }
  for (const o of objects.filter((o) => o.kind === 'Deployment')) {
    for (const c of containers(o).filter((c) => c.name === 'tokengate')) for (const e of c.env ?? []) used.push([o.file, e.name])
  }
  const compose = docsOf('deploy/docker-compose.yml')[0]
  for (const key of Object.keys(compose.services.tokengate.environment)) used.push(['deploy/docker-compose.yml', key])
  const render = docsOf('deploy/render.yaml')[0]
  for (const v of render.services.find((s: Doc) => s.name === 'tokengate').envVars) used.push(['deploy/render.yaml', v.key])
  t.ok(used.length > 30, `${used.length} settings checked`)
  for (const [file, name] of used) t.ok(known.has(name), `${name} (${file}) is read by src/config`)
})

t.test('base Deployment: image, ports and probes agree with the ConfigMap, the Service and kustomize', async (t) => {
  const kustomization = docsOf('deploy/kubernetes/base/kustomization.yaml')[0]
  t.ok(kustomization.images.some((i: Doc) => i.name === tokengate.image && /tokengate$/.test(i.newName)), 'the image is set by the kustomization images entry')
  const port = (name: string): number => tokengate.ports.find((p: Doc) => p.name === name)?.containerPort
  t.equal(port('http'), Number(baseConfig.PORT), 'containerPort http = PORT')
  t.equal(port('metrics'), Number(baseConfig.METRICS_PORT), 'containerPort metrics = METRICS_PORT')
  t.match(tokengate.livenessProbe.httpGet, { path: '/healthz', port: 'http' })
  t.match(tokengate.readinessProbe.httpGet, { path: '/readyz', port: 'http' })
  t.ok(tokengate.resources.requests.cpu && tokengate.resources.requests.memory, 'resource requests')
  t.equal(tokengate.securityContext.allowPrivilegeEscalation, false)
  t.equal(baseDeployment.spec.template.spec.securityContext.runAsNonRoot, true)
  const graceS = baseDeployment.spec.template.spec.terminationGracePeriodSeconds
  t.ok(graceS * 1000 > Number(baseConfig.SHUTDOWN_GRACE_MS) + 5000, 'the pod grace outlasts preStop + SHUTDOWN_GRACE_MS')
  const service = one('Service', 'tokengate', /base\//)
  const podLabels = baseDeployment.spec.template.metadata.labels
  t.match(podLabels, service.spec.selector, 'the Service selects the pods')
  for (const p of service.spec.ports) t.ok(port(p.targetPort), `Service port ${p.name} targets a container port (${p.targetPort})`)
})

t.test('sidecar: the Service goes to tokengate, and UPSTREAM_URL is the API container on loopback', async (t) => {
  const patch = one('Deployment', 'finance-api', /overlays\/sidecar\//)
  const api = container(patch, 'finance-api')
  const upstream = new URL(one('ConfigMap', 'tokengate-config', /overlays\/sidecar\//).data.UPSTREAM_URL)
  t.equal(upstream.hostname, '127.0.0.1')
  t.equal(Number(upstream.port), api.ports[0].containerPort, 'UPSTREAM_URL port = the API container port')
  const service = one('Service', 'finance-api', /overlays\/sidecar\//)
  const target = service.spec.ports[0].targetPort
  t.ok(tokengate.ports.some((p: Doc) => p.name === target), `targetPort ${target} is a tokengate port`)
  t.notOk(api.ports.some((p: Doc) => p.name === target || p.containerPort === target), 'never the API port')
  const policy = one('NetworkPolicy', 'tokengate', /base\//)
  t.same(policy.spec.ingress.flatMap((rule: Doc) => rule.ports.map((p: Doc) => p.port)).sort(), ['http', 'metrics'], 'only tokengate\'s ports are open')
  t.match(policy.spec.ingress.find((rule: Doc) => rule.ports[0].port === 'metrics'), { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }] }, 'metrics: the monitoring namespace only')
})

t.test('standalone: the HPA scales the Deployment and the PDB selects its pods', async (t) => {
  const hpa = one('HorizontalPodAutoscaler', 'tokengate', /overlays\/standalone\//)
  t.match(hpa.spec.scaleTargetRef, { kind: 'Deployment', name: baseDeployment.metadata.name })
  t.ok(hpa.spec.minReplicas >= 2, 'at least two replicas')
  const pdb = one('PodDisruptionBudget', 'tokengate', /overlays\/standalone\//)
  t.match(baseDeployment.spec.template.metadata.labels, pdb.spec.selector.matchLabels)
})

t.test('every Redis deployed under deploy/ runs with maxmemory-policy noeviction, and no other policy appears', async (t) => {
  const redisConf = one('ConfigMap', 'tokengate-redis', /components\/redis\//).data['redis.conf']
  t.match(redisConf, /^maxmemory-policy noeviction$/m, 'Kubernetes redis.conf')
  const compose = docsOf('deploy/docker-compose.yml')[0]
  const command: string[] = compose.services.redis.command
  t.equal(command[command.indexOf('--maxmemory-policy') + 1], 'noeviction', 'docker-compose')
  const render = docsOf('deploy/render.yaml')[0]
  const keyValue = render.services.filter((s: Doc) => s.type === 'keyvalue' || s.type === 'redis')
  t.equal(keyValue.length, 1)
  t.equal(keyValue[0].maxmemoryPolicy, 'noeviction', 'render.yaml')
  const webEnv = render.services.find((s: Doc) => s.type === 'web').envVars.find((v: Doc) => v.key === 'REDIS_URL')
  t.equal(webEnv.fromService.name, keyValue[0].name, 'render: REDIS_URL comes from that instance')
  for (const file of yamlFiles()) {
    const settings = readFileSync(join(ROOT, file.path), 'utf8').split('\n').filter((line) => !/^\s*#/.test(line)).join('\n')
    for (const m of settings.matchAll(/maxmemory-?policy["\s:,]+([a-z-]+)/gi)) t.equal(m[1], 'noeviction', `${file.path}: ${m[0]}`)
  }
})

t.test('the PrometheusRule encodes the operators\' thresholds on metrics tokengate exports', async (t) => {
  const rule = one('PrometheusRule', 'tokengate', /components\/monitoring\//)
  const rules: Doc[] = rule.spec.groups.flatMap((g: Doc) => g.rules)
  const expr = (alert: string): string => String(rules.find((r) => r.alert === alert)?.expr ?? '').replace(/\s+/g, ' ').trim()
  t.match(expr('TokengateSlowRevocationChecks'), /1000 \* sum\(rate\(tokengate_revocation_check_duration_seconds_sum\[5m\]\)\) \/ sum\(rate\(tokengate_revocation_check_duration_seconds_count\[5m\]\)\) > 50$/)
  t.match(expr('TokengateLowCacheHitRatio'), /tokengate_revocation_cache_hits_total.*tokengate_revocation_cache_misses_total.*< 0\.7$/)
  t.match(expr('TokengateRedisErrors'), /^sum\(increase\(tokengate_store_errors_total\[1h\]\)\) > 5$/)
  t.match(expr('TokengateCriticalSecurityAlert'), /tokengate_security_alerts_total\{severity="CRITICAL"\}.*> 0$/)
  const metricsSource = readFileSync(join(ROOT, 'src/metrics/metrics.ts'), 'utf8')
  const referenced = new Set(rules.flatMap((r) => [...String(r.expr).matchAll(/tokengate_[a-z_]+/g)].map((m) => m[0].replace(/_(sum|count|bucket)$/, ''))))
  for (const name of referenced) t.match(metricsSource, `name: '${name}'`, `${name} is exported by src/metrics`)
  const monitor = one('ServiceMonitor', 'tokengate', /components\/monitoring\//)
  t.ok(tokengate.ports.some((p: Doc) => p.name === monitor.spec.endpoints[0].port), 'the ServiceMonitor scrapes the metrics port')
})

t.test('nginx and Traefik forward exactly the identity headers tokengate answers with', async (t) => {
  const nginx = readFileSync(join(DEPLOY, 'nginx/tokengate.conf'), 'utf8')
  for (const header of IDENTITY_HEADERS) {
    const variable = `$upstream_http_${header.replaceAll('-', '_')}`
    const set = new RegExp(`auth_request_set (\\$\\w+) \\${variable};`).exec(nginx)
    t.ok(set, `auth_request_set from ${variable}`)
    t.match(nginx, new RegExp(`proxy_set_header ${header} \\${set?.[1] ?? 'none'};`, 'i'), `${header} set on the request to the API`)
  }
  const file = docsOf('deploy/traefik/dynamic.yml')[0].http.middlewares.tokengate.forwardAuth
  const crd = docsOf('deploy/traefik/middleware.yaml').find((d) => d.kind === 'Middleware')?.spec.forwardAuth
  t.same(file.authResponseHeaders.map((h: string) => h.toLowerCase()), [...IDENTITY_HEADERS])
  t.same(crd.authResponseHeaders, file.authResponseHeaders, 'the CRD and the file provider agree')
  t.same(crd.authRequestHeaders, file.authRequestHeaders)
  t.equal(crd.trustForwardHeader, file.trustForwardHeader)
  t.equal(new URL(crd.address).pathname, '/auth/verify')
})

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0
t.test('kubectl kustomize renders both overlays into the objects each pattern needs', { skip: kubectl ? false : 'kubectl not installed' }, async (t) => {
  const render = (overlay: string): Doc[] => {
    const out = spawnSync('kubectl', ['kustomize', join(DEPLOY, 'kubernetes/overlays', overlay)], { encoding: 'utf8' })
    t.equal(out.status, 0, `${overlay}: ${out.stderr}`)
    return parseAllDocuments(out.stdout).map((d) => d.toJS() as Doc)
  }
  const kinds = (docs: Doc[]): string[] => docs.map((d) => `${d.kind}/${d.metadata.name}`).sort()
  const sidecar = render('sidecar')
  t.same(kinds(sidecar), ['ConfigMap/tokengate-config', 'ConfigMap/tokengate-redis', 'Deployment/finance-api', 'NetworkPolicy/tokengate', 'NetworkPolicy/tokengate-redis', 'Secret/tokengate-jwt', 'Secret/tokengate-redis', 'Service/finance-api', 'Service/tokengate-metrics', 'Service/tokengate-redis', 'StatefulSet/tokengate-redis'])
  const deployment = sidecar.find((d) => d.kind === 'Deployment') ?? {}
  t.same(containers(deployment).map((c) => c.name).sort(), ['finance-api', 'tokengate'], 'one pod, two containers')
  t.match(container(deployment, 'tokengate').image, /^ghcr\.io\/.+\/tokengate:/)
  t.equal(sidecar.find((d) => d.kind === 'ConfigMap' && d.metadata.name === 'tokengate-config')?.data.UPSTREAM_URL, 'http://127.0.0.1:8000')
  const standalone = render('standalone')
  t.same(kinds(standalone), ['ConfigMap/tokengate-config', 'ConfigMap/tokengate-redis', 'Deployment/tokengate', 'HorizontalPodAutoscaler/tokengate', 'NetworkPolicy/tokengate', 'NetworkPolicy/tokengate-redis', 'PodDisruptionBudget/tokengate', 'Secret/tokengate-jwt', 'Secret/tokengate-redis', 'Service/tokengate', 'Service/tokengate-metrics', 'Service/tokengate-redis', 'StatefulSet/tokengate-redis'])
})
