// What a decision costs in process, without HTTP: CPU per call of tokengate's authorize() for distinct
// (cold) and repeated (warm) HS256 tokens, beside fast-jwt's verification alone, rounds alternated.
//   node bench/decision-cost.js [--dist DIR ...] [--n 30000] [--rounds 7] [--redis redis://...]
// Several --dist (built trees, e.g. `dist` and another worktree's) are compared in one run, each in
// its own child process per round. With --redis the security monitor's state is that Redis (its
// batched flush included, every 2,000 decisions), else memory. ALERT_TOKEN_MAX_IPS=0 in the
// environment switches the theft monitor off. OTEL_EXPORTER_OTLP_ENDPOINT (and OTEL_TRACES_SAMPLER,
// OTEL_TRACES_SAMPLER_ARG) in the environment turn traces on, as in the gateway: start a sink that
// discards first (PORT=4318 node bench/servers/otlp-sink.js), so that exports cost what they cost.
import { execFileSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { isAbsolute, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { createSigner, createVerifier } from 'fast-jwt'
import { decisionParts } from './lib/decision-parts.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const { values: opts } = parseArgs({
  options: {
    dist: { type: 'string', multiple: true, default: ['dist'] },
    n: { type: 'string', default: '30000' },
    rounds: { type: 'string', default: '7' },
    redis: { type: 'string' },
    child: { type: 'string' }
  }
})
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]

if (opts.child === undefined) {
  const results = opts.dist.map((dist) => ({ dist, cold: [], warm: [], fastJwt: [] }))
  for (let r = 0; r < Number(opts.rounds); r++) {
    for (const result of r % 2 === 0 ? results : [...results].reverse()) {
      const args = [fileURLToPath(import.meta.url), '--child', result.dist, '--n', opts.n, ...(opts.redis === undefined ? [] : ['--redis', opts.redis])]
      // The child's result is its last line (a log line of the app may come before it).
      const round = JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' }).trim().split('\n').at(-1))
      for (const key of ['cold', 'warm', 'fastJwt']) result[key].push(round[key])
    }
  }
  for (const { dist, cold, warm, fastJwt } of results) {
    const overhead = cold.map((c, i) => c - fastJwt[i])
    process.stdout.write(`${dist.padEnd(24)} cold ${median(cold).toFixed(2)} µs (fast-jwt alone ${median(fastJwt).toFixed(2)}, tokengate's own ${median(overhead).toFixed(2)}, ${Math.min(...overhead).toFixed(2)}-${Math.max(...overhead).toFixed(2)})  warm ${median(warm).toFixed(2)} µs (${Math.min(...warm).toFixed(2)}-${Math.max(...warm).toFixed(2)})\n`)
  }
} else {
  const dir = isAbsolute(opts.child) ? opts.child : join(root, opts.child)
  const load = async (path) => await import(pathToFileURL(join(dir, path)).href)
  const secret = 'bench-secret-'.padEnd(48, 'x')
  Object.assign(process.env, { NODE_ENV: 'production', JWT_SECRET: secret, LOG_LEVEL: 'warn', ALLOW_MEMORY_STORE: 'true' })
  if (opts.redis !== undefined) process.env.REDIS_URL = opts.redis
  const { createAuthorizer } = await load('decision/authorize.js')
  const { createAccessPolicy } = await load('decision/access-policy.js')
  const { config, metrics, security, authenticator, log, close } = await decisionParts(load)
  // Builds before the decision log (issue 20) take no `decisions`; with it, it is measured as the gateway runs it.
  const decisionLog = await load('decision/decision-log.js').then(({ DecisionLog }) => new DecisionLog('forward_auth', metrics, log, config.decisionLog), () => undefined)
  // Traces (issue 20), when OTEL_* turns them on: a span per decision, exported to the sink.
  const tracing = config.tracing === null || config.tracing === undefined ? undefined : await load('tracing/load.js').then(({ startTracing }) => startTracing(config.tracing, log))
  const traced = tracing === undefined ? undefined : (await load('decision/decision-span.js')).decisionTracing(tracing, 'forward_auth', () => false)
  // Builds with certificate-bound tokens (RFC 8705) take the binding check; unbound tokens never reach it.
  const certificates = await load('decision/certificate-binding.js').then(({ createCertificateBinding }) => createCertificateBinding({ source: () => null, requireSenderConstrained: false, failed: () => {} }), () => undefined)
  const authorize = createAuthorizer({ policy: createAccessPolicy([], []), authenticator, security, methodOverride: config.upstreamMethodOverride, decisions: decisionLog, certificates, senderConstrainedOnly: false, tracing: traced })
  const sign = createSigner({ key: secret, algorithm: 'HS256' })
  const now = Math.floor(Date.now() / 1000)
  const mint = () => sign({ sub: `user-${Math.floor(Math.random() * 1000)}`, jti: randomUUID(), scope: 'read write', roles: ['reader'], iat: now, exp: now + 3600 })
  const fastJwt = createVerifier({ key: secret, algorithms: ['HS256'], requiredClaims: ['sub', 'exp', 'iat', 'jti'], clockTolerance: 5000, cache: false })
  const cpuUs = () => { const { user, system } = process.cpuUsage(); return user + system }
  let decided = 0
  // As forward-auth does: a decision that needs no I/O is not awaited (older builds return a promise).
  const decideAll = async (headers) => {
    const started = cpuUs()
    for (const authorization of headers) {
      let decision = authorize({ headers: { authorization }, ip: '192.0.2.1', id: 'r' }, 'GET', '/items', false)
      if (typeof decision.then === 'function') decision = await decision
      if (decision.kind !== 'allowed') throw new Error(`refused: ${decision.failure?.code}`)
      if (++decided % 2000 === 0) await security.monitor.flush()
    }
    return (cpuUs() - started) / headers.length
  }
  const n = Number(opts.n)
  // Header strings are built before the clock starts; each is a fresh flat string, as the HTTP parser makes.
  const headersOf = (tokens) => tokens.map((token) => Buffer.from(`Bearer ${token}`).toString('latin1'))
  const verifyAll = async (headers) => {
    const started = cpuUs()
    for (const header of headers) {
      fastJwt(header.slice(7))
      await null
    }
    return (cpuUs() - started) / headers.length
  }
  const warmToken = mint()
  // Each measured loop runs once unmeasured first, so that every path is optimised before the clock starts.
  const fastJwtUs = await verifyAll(headersOf(Array.from({ length: n }, mint))) && await verifyAll(headersOf(Array.from({ length: n }, mint)))
  const coldUs = await decideAll(headersOf(Array.from({ length: n }, mint))) && await decideAll(headersOf(Array.from({ length: n }, mint)))
  const warmUs = await decideAll(headersOf(Array(n).fill(warmToken))) && await decideAll(headersOf(Array(n).fill(warmToken)))
  process.stdout.write('\n' + JSON.stringify({ cold: coldUs, warm: warmUs, fastJwt: fastJwtUs }) + '\n')
  await tracing?.shutdown()
  await close()
  process.exit(0)
}
