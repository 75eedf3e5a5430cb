// What a certificate-bound token (RFC 8705) costs the decision, in process, without HTTP: CPU per call
// of authorize() for unbound tokens, tokens bound to the certificate a trusted proxy passes
// (RFC 9440 Client-Cert, parsed per request), and tokens bound to the certificate of the TLS
// connection (read once per connection), cold (distinct tokens) and warm (one token), ES256
// client certificate, HS256 tokens, rounds alternated.
//   node bench/certificate-binding.js [--dist dist] [--n 20000] [--rounds 5]
import { execFileSync } from 'node:child_process'
import { createHash, randomUUID, X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { isAbsolute, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { createSigner } from 'fast-jwt'
import { decisionParts } from './lib/decision-parts.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const { values: opts } = parseArgs({ options: { dist: { type: 'string', default: 'dist' }, n: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '5' } } })
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
const dir = isAbsolute(opts.dist) ? opts.dist : join(root, opts.dist)
const load = async (path) => await import(pathToFileURL(join(dir, path)).href)

const pki = mkdtempSync(join(tmpdir(), 'tokengate-bench-'))
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'c.key', '-out', 'c.crt', '-days', '1', '-subj', '/CN=bench'], { cwd: pki, stdio: 'pipe' })
const der = new X509Certificate(readFileSync(join(pki, 'c.crt'))).raw
rmSync(pki, { recursive: true, force: true })
const thumbprint = createHash('sha256').update(der).digest('base64url')

const secret = 'bench-secret-'.padEnd(48, 'x')
Object.assign(process.env, { NODE_ENV: 'production', JWT_SECRET: secret, LOG_LEVEL: 'warn', ALLOW_MEMORY_STORE: 'true', ALERT_TOKEN_MAX_IPS: '0' })
const { createAuthorizer } = await load('decision/authorize.js')
const { createAccessPolicy } = await load('decision/access-policy.js')
const { createCertificateBinding } = await load('decision/certificate-binding.js')
const { createCertificateSource } = await load('decision/client-certificate.js')
const { compileTrustedProxies } = await load('decision/trusted-proxies.js')
const { DecisionLog } = await load('decision/decision-log.js')
const { config, metrics, security, authenticator, log, close } = await decisionParts(load)
const trusted = compileTrustedProxies(['127.0.0.1'])
const authorizerWith = (format) => createAuthorizer({
  policy: createAccessPolicy([], []),
  authenticator,
  security,
  methodOverride: 'body',
  decisions: new DecisionLog('forward_auth', metrics, log, config.decisionLog),
  certificates: createCertificateBinding({ source: createCertificateSource({ format, verify: 'success', tls: format === null }, trusted.peer), requireSenderConstrained: false, failed: () => {} }),
  senderConstrainedOnly: false
})
const sign = createSigner({ key: secret, algorithm: 'HS256' })
const now = Math.floor(Date.now() / 1000)
const mint = (bound) => sign({ sub: `user-${Math.floor(Math.random() * 1000)}`, jti: randomUUID(), scope: 'read', iat: now, exp: now + 3600, ...(bound && { cnf: { 'x5t#S256': thumbprint } }) })
const cpuUs = () => { const { user, system } = process.cpuUsage(); return user + system }

// A trusted proxy's connection (one for every request, as nginx keeps it alive), and a client's own TLS connection.
const proxySocket = { remoteAddress: '127.0.0.1' }
const tlsSocket = { remoteAddress: '192.0.2.7', encrypted: true, getPeerX509Certificate: () => new X509Certificate(der) }
const clientCert = `:${der.toString('base64')}:`
const CASES = {
  unbound: { authorize: authorizerWith('rfc9440'), bound: false, request: (authorization) => ({ headers: { authorization }, socket: proxySocket, ip: '192.0.2.1', id: 'r' }) },
  'bound, Client-Cert header': { authorize: authorizerWith('rfc9440'), bound: true, request: (authorization) => ({ headers: { authorization, 'client-cert': clientCert }, socket: proxySocket, ip: '192.0.2.1', id: 'r' }) },
  'bound, TLS connection': { authorize: authorizerWith(null), bound: true, request: (authorization) => ({ headers: { authorization }, socket: tlsSocket, ip: '192.0.2.1', id: 'r' }) }
}
const n = Number(opts.n)
const headersOf = (tokens) => tokens.map((token) => Buffer.from(`Bearer ${token}`).toString('latin1'))
async function decideAll ({ authorize, request }, headers) {
  const requests = headers.map(request)
  const started = cpuUs()
  for (const r of requests) {
    let decision = authorize(r, 'GET', '/items', false)
    if (typeof decision.then === 'function') decision = await decision
    if (decision.kind !== 'allowed') throw new Error(`refused: ${decision.failure?.code}`)
  }
  return (cpuUs() - started) / headers.length
}
const results = Object.fromEntries(Object.keys(CASES).map((name) => [name, { cold: [], warm: [] }]))
for (let round = 0; round < Number(opts.rounds); round++) {
  const names = round % 2 === 0 ? Object.keys(CASES) : Object.keys(CASES).reverse()
  for (const name of names) {
    const c = CASES[name]
    const warmToken = mint(c.bound)
    await decideAll(c, headersOf(Array.from({ length: n }, () => mint(c.bound))))
    results[name].cold.push(await decideAll(c, headersOf(Array.from({ length: n }, () => mint(c.bound)))))
    await decideAll(c, headersOf(Array(n).fill(warmToken)))
    results[name].warm.push(await decideAll(c, headersOf(Array(n).fill(warmToken))))
  }
}
for (const [name, { cold, warm }] of Object.entries(results)) {
  process.stdout.write(`${name.padEnd(28)} cold ${median(cold).toFixed(2)} µs (${Math.min(...cold).toFixed(2)}-${Math.max(...cold).toFixed(2)})  warm ${median(warm).toFixed(2)} µs (${Math.min(...warm).toFixed(2)}-${Math.max(...warm).toFixed(2)})\n`)
}
await close()
process.exit(0)
