// What DPoP (RFC 9449) adds to a decision, in process, without HTTP: CPU per call of tokengate's
// authorize() for plain bearer tokens and DPoP-bound ones (each with a fresh ES256 proof), cold
// (distinct tokens) and warm (one token, new proofs), beside one proof verification alone, in
// one child process per round, rounds alternated. The replay check is the memory guard, or with
// --redis one SET NX EXAT per DPoP decision on that Redis (its round trip is waited for, as the
// gateway does; CPU only is counted, and the wall time per decision is shown beside it).
// --concurrency C keeps C decisions (and claims) in flight, as C connections would: with Redis
// their claims share round trips (ioredis auto-pipelining, as in the gateway); 1 (the default) is
// the worst case, every decision waiting for its own round trip.
//   node bench/dpop-cost.js [--dist dist] [--n 5000] [--rounds 5] [--redis redis://...] [--concurrency 1] [--json]
// Budget (issue 22): DPoP decision - bearer decision <= one proof verification + one Redis round
// trip + 10 µs CPU. Both terms are measured alone in the same child: the proof verification, and
// the replay guard's claim of a fresh id (with --redis, one SET NX EXAT awaited: a round trip as
// the gateway makes it, its client-side CPU and its wall time).
import { execFileSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { isAbsolute, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { createSigner } from 'fast-jwt'
import { decisionParts } from './lib/decision-parts.js'
import { proofKey, proofMaker } from './lib/dpop-proofs.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const { values: opts } = parseArgs({
  options: {
    dist: { type: 'string', default: 'dist' },
    n: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '5' },
    redis: { type: 'string' },
    concurrency: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
    child: { type: 'boolean', default: false }
  }
})
const BUDGET_US = 10
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
const KEYS = ['bearerCold', 'bearerWarm', 'dpopCold', 'dpopWarm', 'proof', 'claim', 'claimWallUs', 'dpopWarmWallUs']

if (!opts.child) {
  const runs = Object.fromEntries(KEYS.map((key) => [key, []]))
  for (let r = 0; r < Number(opts.rounds); r++) {
    const args = [fileURLToPath(import.meta.url), '--child', '--dist', opts.dist, '--n', opts.n, '--concurrency', opts.concurrency, ...(opts.redis === undefined ? [] : ['--redis', opts.redis])]
    const round = JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' }).trim().split('\n').at(-1))
    for (const key of KEYS) runs[key].push(round[key])
  }
  const m = Object.fromEntries(KEYS.map((key) => [key, median(runs[key])]))
  const range = (key) => `${Math.min(...runs[key]).toFixed(2)}-${Math.max(...runs[key]).toFixed(2)}`
  // Per round, then the median: the terms of one round were measured side by side.
  const extraCold = runs.dpopCold.map((d, i) => d - runs.bearerCold[i] - runs.proof[i] - runs.claim[i])
  const extraWarm = runs.dpopWarm.map((d, i) => d - runs.bearerWarm[i] - runs.proof[i] - runs.claim[i])
  const verdict = (us) => `${us.toFixed(2)} µs (${us <= BUDGET_US ? 'met' : 'MISSED'})`
  const lines = [
    `DPoP decision cost, ${opts.rounds} rounds of ${opts.n}, replay guard ${opts.redis === undefined ? 'memory' : 'Redis'}, ${opts.concurrency} in flight (CPU µs per decision, median (min-max))`,
    `  bearer cold ${m.bearerCold.toFixed(2)} (${range('bearerCold')})   bearer warm ${m.bearerWarm.toFixed(2)} (${range('bearerWarm')})`,
    `  DPoP   cold ${m.dpopCold.toFixed(2)} (${range('dpopCold')})   DPoP   warm ${m.dpopWarm.toFixed(2)} (${range('dpopWarm')})   wall per warm DPoP decision ${m.dpopWarmWallUs.toFixed(1)} µs`,
    `  one ES256 proof verification alone ${m.proof.toFixed(2)} (${range('proof')})`,
    `  one replay claim alone ${m.claim.toFixed(2)} (${range('claim')}), wall ${m.claimWallUs.toFixed(1)} µs${opts.redis === undefined ? '' : ' (a Redis round trip)'}`,
    `  DPoP beyond bearer, the proof and the claim: cold ${verdict(median(extraCold))}, warm ${verdict(median(extraWarm))} (budget ${BUDGET_US} µs); warm DPoP / warm bearer throughput ${(m.bearerWarm / m.dpopWarm).toFixed(2)}`
  ]
  const text = lines.join('\n')
  // --json: the text and the figures run.js checks the HTTP DPoP scenario against.
  process.stdout.write((opts.json ? JSON.stringify({ text, proofUs: m.proof, claimUs: m.claim, extraColdUs: median(extraCold), extraWarmUs: median(extraWarm), budgetUs: BUDGET_US }) : text) + '\n')
} else {
  const dir = isAbsolute(opts.dist) ? opts.dist : join(root, opts.dist)
  const load = async (path) => await import(pathToFileURL(join(dir, path)).href)
  const secret = 'bench-secret-'.padEnd(48, 'x')
  const ORIGIN = 'https://api.example'
  Object.assign(process.env, { NODE_ENV: 'production', JWT_SECRET: secret, LOG_LEVEL: 'warn', ALLOW_MEMORY_STORE: 'true', DPOP: 'true', DPOP_ORIGINS: ORIGIN })
  const { createAuthorizer } = await load('decision/authorize.js')
  const { createAccessPolicy } = await load('decision/access-policy.js')
  const { createDpopCheck, proxyTarget } = await load('decision/dpop-check.js')
  const { createProofVerifier } = await load('decision/dpop-proof.js')
  const { DecisionLog } = await load('decision/decision-log.js')
  const { MemoryReplayGuard, RedisReplayGuard } = await load('idp/replay-guard.js')
  const { createCertificateBinding } = await load('decision/certificate-binding.js')
  const { config, metrics, security, authenticator, log, close } = await decisionParts(load, { dpop: true })
  const guard = opts.redis === undefined
    ? new MemoryReplayGuard({ maxIds: 10_000_000 })
    : new RedisReplayGuard({ topology: { mode: 'standalone', url: opts.redis }, password: null, keyPrefix: `bench-dpop-${randomUUID()}:`, minReplicasAck: 0 })
  // The guard connects in the background: wait until it answers.
  for (let i = 0; !(await guard.claim('bench', randomUUID(), Date.now() / 1000 + 60).then(() => true, () => false)); i++) {
    if (i > 100) throw new Error('the replay guard never answered')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const verifyProof = createProofVerifier(config.dpop.algorithms)
  const dpop = createDpopCheck(config.dpop, {
    guard,
    clockToleranceS: config.jwt.clockToleranceS,
    replayTimeoutMs: 1000,
    failed: (reason) => { metrics.dpopFailures.inc({ reason }) },
    raise: () => {}
  }, proxyTarget(config.dpop.origins, () => false), verifyProof)
  const authorize = createAuthorizer({
    policy: createAccessPolicy([], []),
    authenticator,
    security,
    methodOverride: config.upstreamMethodOverride,
    decisions: new DecisionLog('proxy', metrics, log, config.decisionLog),
    dpop,
    certificates: createCertificateBinding({ source: () => null, requireSenderConstrained: false, failed: () => {} }),
    senderConstrainedOnly: false
  })

  const key = proofKey()
  const { jkt } = key
  const now = Math.floor(Date.now() / 1000)
  const proofFor = (token) => proofMaker(key, { htm: 'GET', htu: `${ORIGIN}/items`, token })()
  const sign = createSigner({ key: secret, algorithm: 'HS256' })
  const mint = (bound) => sign({ sub: `user-${Math.floor(Math.random() * 1000)}`, jti: randomUUID(), scope: 'read write', iat: now, exp: now + 3600, ...(bound && { cnf: { jkt } }) })
  const cpuUs = () => { const { user, system } = process.cpuUsage(); return user + system }
  const socket = {}
  const concurrency = Number(opts.concurrency)
  // CPU and wall time per item of `one` over `items`, `concurrency` of them in flight.
  const measure = async (items, one) => {
    const started = cpuUs()
    const wall = performance.now()
    let next = 0
    const worker = async () => { while (next < items.length) await one(items[next++]) }
    await Promise.all(Array.from({ length: concurrency }, worker))
    return { cpu: (cpuUs() - started) / items.length, wall: (performance.now() - wall) * 1000 / items.length }
  }
  let decided = 0
  const decideOne = async (headers) => {
    let decision = authorize({ headers, url: '/items', socket, ip: '192.0.2.1', id: randomUUID() }, 'GET', '/items', false)
    if (typeof decision.then === 'function') decision = await decision
    if (decision.kind !== 'allowed') throw new Error(`refused: ${decision.failure?.code}`)
    if (++decided % 2000 === 0) await security.monitor.flush()
  }
  const decideAll = async (requests) => await measure(requests, decideOne)
  const n = Number(opts.n)
  // Requests (and proofs) are built before the clock starts; header strings fresh, as the HTTP parser makes them.
  const bearer = (tokens) => tokens.map((token) => ({ authorization: Buffer.from(`Bearer ${token}`).toString('latin1') }))
  const dpopRequests = (tokens) => tokens.map((token) => ({ authorization: Buffer.from(`DPoP ${token}`).toString('latin1'), dpop: proofFor(token) }))
  const fresh = (bound) => Array.from({ length: n }, () => mint(bound))
  const warmBearer = mint(false)
  const warmBound = mint(true)
  const verifyAll = (proofs) => {
    const started = cpuUs()
    for (const proof of proofs) if (verifyProof(proof).jkt !== jkt) throw new Error('proof refused')
    return (cpuUs() - started) / proofs.length
  }
  const until = Date.now() / 1000 + 120
  const claimAll = async (ids) => await measure(ids, async (id) => {
    if (!(await guard.claim(`dpop\n${jkt}`, id, until, 'r'))) throw new Error('claim refused')
  })
  // Each measured loop runs once unmeasured first.
  const twice = async (build, run) => { await run(build()); return await run(build()) }
  const proofUs = await twice(() => Array.from({ length: n }, () => proofFor(warmBound)), verifyAll)
  const claim = await twice(() => Array.from({ length: n }, () => randomUUID()), claimAll)
  const bearerCold = await twice(() => bearer(fresh(false)), decideAll)
  const bearerWarm = await twice(() => bearer(Array(n).fill(warmBearer)), decideAll)
  const dpopCold = await twice(() => dpopRequests(fresh(true)), decideAll)
  const dpopWarm = await twice(() => dpopRequests(Array(n).fill(warmBound)), decideAll)
  process.stdout.write('\n' + JSON.stringify({ bearerCold: bearerCold.cpu, bearerWarm: bearerWarm.cpu, dpopCold: dpopCold.cpu, dpopWarm: dpopWarm.cpu, proof: proofUs, claim: claim.cpu, claimWallUs: claim.wall, dpopWarmWallUs: dpopWarm.wall }) + '\n')
  await guard.close()
  await close()
  process.exit(0)
}
