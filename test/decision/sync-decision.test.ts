import t from 'tap'
import { NeedsIo } from '../../src/async/needs-io.js'
import { loadConfig } from '../../src/config/load.js'
import { createAccessPolicy } from '../../src/decision/access-policy.js'
import { createAuthenticator, type Authenticator } from '../../src/decision/authenticator.js'
import { createAuthorizer, type Authorization } from '../../src/decision/authorize.js'
import { DecisionLog } from '../../src/decision/decision-log.js'
import { createCertificateBinding } from '../../src/decision/certificate-binding.js'
import { GatewayMetrics } from '../../src/metrics/metrics.js'
import { RevocationChecker } from '../../src/revocation/checker.js'
import { MemoryStore } from '../../src/revocation/memory-store.js'
import { ReplicaState } from '../../src/revocation/replica-state.js'
import type { SecuritySink } from '../../src/security/sink.js'
import { createTokenVerifier } from '../../src/tokens/verifier.js'
import { nowS, SECRET, sign } from '../helpers/tokens.js'

// What the decision reports, kept for the assertions (the sink is where refusals are counted).
function recordingSink (): SecuritySink & { readonly seen: string[] } {
  const seen: string[] = []
  return {
    seen,
    audit: () => {},
    allowed: (token) => { seen.push(`allowed ${token.sub}`) },
    denied: (reason) => { seen.push(`denied ${reason}`) },
    tokenIssued: () => {},
    refreshReuse: () => {},
    close: async () => {}
  }
}

t.test('with a known key and a current revocation state, a request is decided in the same call (no promise)', async (t) => {
  const config = loadConfig({ NODE_ENV: 'test', JWT_SECRET: SECRET })
  const store = new MemoryStore()
  const replica = new ReplicaState(store, { maxStalenessMs: config.maxStalenessMs })
  const checker = new RevocationChecker(replica, store, { timeoutMs: 50, failMode: 'closed' })
  t.teardown(() => { checker.close(); replica.close() })
  const security = recordingSink()
  const authorize = createAuthorizer({
    policy: createAccessPolicy([], []),
    authenticator: createAuthenticator(createTokenVerifier(config.jwt, null), checker, config.jwt.maxTokenBytes),
    security,
    methodOverride: config.upstreamMethodOverride,
    decisions: new DecisionLog('forward_auth', new GatewayMetrics(), { info () {} }, { sample: 0, linesPerSecond: 10 }),
    certificates: createCertificateBinding({ source: () => null, requireSenderConstrained: false, failed: () => {} }),
    senderConstrainedOnly: false
  })
  const decide = (token: string): Authorization => {
    const decision = authorize({ headers: { authorization: `Bearer ${token}` }, ip: '192.0.2.1', id: 'r1' }, 'GET', '/items', false)
    if (decision instanceof NeedsIo) throw new Error('the decision waited on I/O')
    return decision
  }
  const token = sign({ claims: { sub: 'alice' } })
  t.equal(decide(token).kind, 'allowed')
  t.equal(decide(token).kind, 'allowed', 'again, from the verified cache')
  t.equal(decide(sign({ key: 'another-secret-of-at-least-32-bytes!!' })).kind, 'denied', 'a forged token')
  await store.write({ kind: 'user', id: 'alice', issuer: '', before: nowS() + 1, expiresAt: nowS() + 3600 })
  const revoked = decide(token)
  t.equal(revoked.kind === 'denied' && revoked.failure.code, 'TG_ERR_TOKEN_REVOKED', 'a revocation applied to the state decides at once too')
  t.same(security.seen, ['allowed alice', 'allowed alice', 'denied bad_signature', 'denied revoked'], 'each decision reported once')
})

t.test('a cached token is looked up before the header grammar: every spelling of the header gets the decision an empty cache gives (RFC 6750 §2.1)', async (t) => {
  const fc = (await import('fast-check')).default
  const build = (cacheSize: string): Authenticator => {
    const config = loadConfig({ NODE_ENV: 'test', JWT_SECRET: SECRET, JWT_VERIFY_CACHE_SIZE: cacheSize })
    const store = new MemoryStore()
    const replica = new ReplicaState(store, { maxStalenessMs: config.maxStalenessMs })
    const checker = new RevocationChecker(replica, store, { timeoutMs: 50, failMode: 'closed' })
    t.teardown(() => { checker.close(); replica.close() })
    return createAuthenticator(createTokenVerifier(config.jwt, null), checker, config.jwt.maxTokenBytes)
  }
  const cached = build('100')
  const uncached = build('0')
  const token = sign()
  // Admitted on its second verification (verified-cache.ts).
  await cached.fromToken(token)
  await cached.fromToken(token)
  t.equal(cached.fromHeader(`Bearer ${token}`) instanceof NeedsIo, false)
  const outcome = (auth: Awaited<ReturnType<Authenticator['fromHeader']>>): string => auth.ok ? 'ok' : auth.failure.code
  const scheme = fc.constantFrom('Bearer', 'bearer', 'BEARER', 'Bearer:', 'Basic', 'Bearer\t', '')
  const space = fc.constantFrom(' ', '  ', '', '\t', ' \u00a0')
  const tail = fc.constantFrom('', ' ', '  ', '=', '\t', '.', 'x', ',', ' x')
  await fc.assert(fc.asyncProperty(scheme, space, tail, async (s, sp, end) => {
    const header = `${s}${sp}${token}${end}`
    return outcome(await cached.fromHeader(header)) === outcome(await uncached.fromHeader(header))
  }), { numRuns: 300 })
})
