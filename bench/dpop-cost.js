// What DPoP (RFC 9449) adds to a decision, in process, without HTTP: CPU per call of tokengate's
// authorize() for plain bearer tokens and DPoP-bound ones (each with a fresh ES256 proof), cold
// (distinct tokens) and warm (one token, new proofs), beside one proof verification alone, in
// one child process per round, rounds alternated. The replay check is the memory guard, or with
// --redis one SET NX EXAT per DPoP decision on that Redis (its round trip is waited for, as the
// gateway does; CPU only is counted, and the wall time per decision is shown beside it).
//   node bench/dpop-cost.js [--dist dist] [--n 5000] [--rounds 5] [--redis redis://...]
// Budget (issue 22): DPoP decision - bearer decision <= one proof verification + one Redis round
// trip + 10 µs CPU.
import { execFileSync } from 'node:child_process'
import { createHash, generateKeyPairSync, randomUUID, sign as cryptoSign } from 'node:crypto'
import { isAbsolute, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { createSigner } from 'fast-jwt'
import { decisionParts } from './lib/decision-parts.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const { values: opts } = parseArgs({
  options: {
    dist: { type: 'string', default: 'dist' },
    n: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '5' },
    redis: { type: 'string' },
    child: { type: 'boolean', default: false }
  }
})
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
const KEYS = ['bearerCold', 'bearerWarm', 'dpopCold', 'dpopWarm', 'proof', 'dpopWarmWallUs']

if (!opts.child) {
  const runs = Object.fromEntries(KEYS.map((key) => [key, []]))
  for (let r = 0; r < Number(opts.rounds); r++) {
    const args = [fileURLToPath(import.meta.url), '--child', '--dist', opts.dist, '--n', opts.n, ...(opts.redis === undefined ? [] : ['--redis', opts.redis])]
    const round = JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' }).trim().split('\n').at(-1))
    for (const key of KEYS) runs[key].push(round[key])
  }
  const m = Object.fromEntries(KEYS.map((key) => [key, median(runs[key])]))
  const range = (key) => `${Math.min(...runs[key]).toFixed(2)}-${Math.max(...runs[key]).toFixed(2)}`
  const extraCold = runs.dpopCold.map((d, i) => d - runs.bearerCold[i] - runs.proof[i])
  const extraWarm = runs.dpopWarm.map((d, i) => d - runs.bearerWarm[i] - runs.proof[i])
  const lines = [
    `DPoP decision cost, ${opts.rounds} rounds of ${opts.n}, replay guard ${opts.redis === undefined ? 'memory' : 'Redis'} (CPU µs per decision, median (min-max))`,
    `  bearer cold ${m.bearerCold.toFixed(2)} (${range('bearerCold')})   bearer warm ${m.bearerWarm.toFixed(2)} (${range('bearerWarm')})`,
    `  DPoP   cold ${m.dpopCold.toFixed(2)} (${range('dpopCold')})   DPoP   warm ${m.dpopWarm.toFixed(2)} (${range('dpopWarm')})   wall per warm DPoP decision ${m.dpopWarmWallUs.toFixed(1)} µs`,
    `  one ES256 proof verification alone ${m.proof.toFixed(2)} (${range('proof')})`,
    `  DPoP beyond bearer and the proof: cold ${median(extraCold).toFixed(2)} µs, warm ${median(extraWarm).toFixed(2)} µs (budget 10 µs + one Redis round trip); warm DPoP / warm bearer throughput ${(m.bearerWarm / m.dpopWarm).toFixed(2)}`
  ]
  process.stdout.write(lines.join('\n') + '\n')
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

  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = publicKey.export({ format: 'jwk' })
  const jkt = createHash('sha256').update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })).digest('base64url')
  const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const header = b64({ typ: 'dpop+jwt', alg: 'ES256', jwk })
  const now = Math.floor(Date.now() / 1000)
  const proofFor = (token) => {
    const input = `${header}.${b64({ jti: randomUUID(), htm: 'GET', htu: `${ORIGIN}/items`, iat: Math.floor(Date.now() / 1000), ath: createHash('sha256').update(token).digest('base64url') })}`
    return `${input}.${cryptoSign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`
  }
  const sign = createSigner({ key: secret, algorithm: 'HS256' })
  const mint = (bound) => sign({ sub: `user-${Math.floor(Math.random() * 1000)}`, jti: randomUUID(), scope: 'read write', iat: now, exp: now + 3600, ...(bound && { cnf: { jkt } }) })
  const cpuUs = () => { const { user, system } = process.cpuUsage(); return user + system }
  const socket = {}
  let decided = 0
  const decideAll = async (requests) => {
    const started = cpuUs()
    const wall = performance.now()
    for (const headers of requests) {
      let decision = authorize({ headers, url: '/items', socket, ip: '192.0.2.1', id: 'r' }, 'GET', '/items', false)
      if (typeof decision.then === 'function') decision = await decision
      if (decision.kind !== 'allowed') throw new Error(`refused: ${decision.failure?.code}`)
      if (++decided % 2000 === 0) await security.monitor.flush()
    }
    return { cpu: (cpuUs() - started) / requests.length, wall: (performance.now() - wall) * 1000 / requests.length }
  }
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
  // Each measured loop runs once unmeasured first.
  const twice = async (build, run) => { await run(build()); return await run(build()) }
  const proofUs = await twice(() => Array.from({ length: n }, () => proofFor(warmBound)), verifyAll)
  const bearerCold = await twice(() => bearer(fresh(false)), decideAll)
  const bearerWarm = await twice(() => bearer(Array(n).fill(warmBearer)), decideAll)
  const dpopCold = await twice(() => dpopRequests(fresh(true)), decideAll)
  const dpopWarm = await twice(() => dpopRequests(Array(n).fill(warmBound)), decideAll)
  process.stdout.write('\n' + JSON.stringify({ bearerCold: bearerCold.cpu, bearerWarm: bearerWarm.cpu, dpopCold: dpopCold.cpu, dpopWarm: dpopWarm.cpu, proof: proofUs, dpopWarmWallUs: dpopWarm.wall }) + '\n')
  await guard.close()
  await close()
  process.exit(0)
}
