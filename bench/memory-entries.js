// node --expose-gc bench/memory-entries.js (after npm run build): heap bytes per
// entry of each per-process cache, filled to a given size through the real
// classes, with what an entry keeps alive (token strings, claims, jti strings).
// The figures behind the cache rows of README "Memory".
import { randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'
import { createSigner } from 'fast-jwt'
import { bearerToken } from '../dist/decision/bearer.js'
import { FingerprintTable } from '../dist/cache/fingerprint-table.js'
import { loadConfig } from '../dist/config/load.js'
import { ReplicaState } from '../dist/revocation/replica-state.js'
import { MemoryStore } from '../dist/revocation/memory-store.js'
import { createTokenVerifier } from '../dist/tokens/verifier.js'

if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc')
const { values: opts } = parseArgs({ options: { sizes: { type: 'string', default: '5000,20000' } } })
const sizes = opts.sizes.split(',').map(Number)
const SECRET = 'memory-entries-secret-that-is-at-least-32-bytes'

function heapUsed () {
  for (let i = 0; i < 3; i++) globalThis.gc()
  return process.memoryUsage().heapUsed
}

/** Bytes per entry: heap with `fill(size)` alive minus heap before, divided by size. */
async function perEntry (size, fill) {
  const before = heapUsed()
  const kept = await fill(size)
  const bytes = heapUsed() - before
  if (kept === null) throw new Error('unreachable')
  return Math.round(bytes / size)
}

// A jti as it comes out of a token's JSON (one flat string); randomUUID() builds a rope of pieces.
const jti = () => Buffer.from(randomUUID()).toString('latin1')
const sign = createSigner({ key: SECRET, algorithm: 'HS256' })
const now = Math.floor(Date.now() / 1000)
// What a client sends: sub, jti (UUID), iat, exp, scope, sid; ~260-byte header.
const header = (i) => 'Bearer ' + sign({ sub: `user-${i % 1000}`, jti: randomUUID(), sid: randomUUID(), iat: now, exp: now + 900, scope: 'read write' })

const results = []
for (const size of sizes) {
  const verifyCache = await perEntry(size, async (n) => {
    const config = loadConfig({ NODE_ENV: 'test', JWT_SECRET: SECRET, JWT_VERIFY_CACHE_SIZE: String(n) })
    const verifier = createTokenVerifier(config.jwt, null)
    for (let i = 0; i < n; i++) {
      const token = bearerToken(header(i), 8192)
      // Admitted on the second use; the first leaves its jti with the admission filter.
      verifier.verify(token)
      verifier.verify(token)
    }
    if (verifier.cachedTokens() !== n) throw new Error(`verified-token cache holds ${verifier.cachedTokens()}, expected ${n}`)
    return verifier
  })
  // The "not revoked" cache is gone (issue 12): every replica holds the complete state instead, in typed
  // arrays outside the JS heap (bytes per mark: bench/memory-marks.js).
  const marks = await perEntry(size, async (n) => {
    const replica = new ReplicaState(new MemoryStore(), { maxStalenessMs: 1000 })
    for (let i = 0; i < n; i++) replica.remember({ kind: 'jti', id: jti(), expiresAt: now + 900 })
    replica.close()
    return replica
  })
  const lastAddress = await perEntry(size, async (n) => {
    // The monitor's jti -> last client address table: fingerprints in one typed array, allocated at construction.
    const table = new FingerprintTable(n, 300_000)
    const ip = table.fingerprint('203.0.113.7')
    for (let i = 0; i < n; i++) table.set(jti(), ip)
    return table
  })
  results.push({ size, verifyCache, marks, lastAddress })
}

process.stdout.write(JSON.stringify({ node: process.version, unit: 'bytes per entry', results }, null, 2) + '\n')
