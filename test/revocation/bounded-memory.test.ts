import { randomBytes } from 'node:crypto'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { createSigner } from 'fast-jwt'
import t from 'tap'
import { buildGateway, type Gateway } from '../helpers/gateway.js'
import { injectServer } from '../helpers/inject.js'
import { startRedis } from '../helpers/redis.js'
import { SECRET } from '../helpers/tokens.js'
import { until } from '../helpers/until.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const CACHE = 500
const VERIFY_CACHE = 200
// Every cache is full long before N; from N to 3N nothing may grow but noise.
const N = 10_000
const CONCURRENCY = 64
const ADDRESSES = ['10.0.0.1', '10.0.0.2', '10.0.0.3']
// What 2N more tokens may add to the heap (run-to-run noise is about 1 MB): keeping 150 bytes per
// token would add 3 MB; a verified-token cache without its limit adds about 12 MB.
const MARGIN_BYTES = 2 * 1024 * 1024

const sign = createSigner({ key: SECRET, algorithm: 'HS256' })
const now = Math.floor(Date.now() / 1000)
const prefix = randomBytes(6).toString('base64url')
let minted = 0

async function heapAfterGc (): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
  return process.memoryUsage().heapUsed
}

/**
 * `count` distinct tokens through GET /auth/verify, CONCURRENCY at a time:
 * signature checks, Redis lookups (batched), the theft monitor (a reused token
 * comes from another address). Every 10th token is revoked in Redis first, so
 * revocation marks pile up as well.
 */
async function drive (gw: Omit<Gateway, 'url'>, count: number): Promise<void> {
  const { revoker } = gw.app.tokengate
  for (let done = 0; done < count; done += CONCURRENCY) {
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, count - done) }, async () => {
      const n = minted++
      const jti = `${prefix}-${n}`
      const revoked = n % 10 === 0
      if (revoked) await revoker.token('', jti, now + 600, 'admin_token_revoked')
      const token = sign({ sub: `user-${n % 1000}`, jti, iat: now, exp: now + 600, scope: 'read' })
      // Every other token is used twice: the verified-token cache admits a token on its second use.
      for (let use = 0; use < (n % 2 === 1 ? 2 : 1); use++) {
        // Through the gateway's node:http handler from 127.0.0.1, a trusted proxy: X-Forwarded-For gives each use its client address.
        const response = await injectServer(gw.app, {
          method: 'GET',
          url: '/auth/verify',
          headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': ADDRESSES[(n + use) % ADDRESSES.length] }
        })
        if (response.statusCode !== (revoked ? 401 : 200)) throw new Error(`token ${n}: ${response.statusCode} ${response.body}`)
      }
    }))
  }
  // Whatever the theft monitor counted goes out before anything is measured.
  await gw.app.tokengate.security.monitor.flush()
}

t.test('a stream of distinct tokens fills every cache to its limit and no further; the heap stops growing', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const gw = await buildGateway(t, {
    REDIS_URL: redis.url,
    LOG_LEVEL: 'warn',
    // A busy machine must not turn a slow lookup into an allowed revoked token (fail-open) or a flaky 503.
    FAIL_MODE: 'closed',
    REVOCATION_CHECK_TIMEOUT_MS: '2000',
    // The alerts themselves are bounded by deduplication; their log lines would only add noise here.
    ALERT_USER_FAILURES_PER_HOUR: '0',
    LOCAL_CACHE_SIZE: String(CACHE),
    JWT_VERIFY_CACHE_SIZE: String(VERIFY_CACHE)
  })
  const { replica, authenticator } = gw.app.tokengate
  const monitor = gw.app.tokengate.security.monitor
  t.ok(await until(() => replica.current), 'the revocation state is loaded and current')

  const sizes = (): Record<string, number> => ({
    verified: authenticator.cachedTokens(),
    trackedTokens: monitor.trackedTokens
  })

  await drive(gw, N)
  const atN = sizes()
  t.equal(atN.verified, VERIFY_CACHE, 'the verified-token cache is full')
  t.ok(atN.trackedTokens > CACHE / 2 && atN.trackedTokens <= CACHE, `theft monitor: ${atN.trackedTokens} tokens of ${CACHE}`)
  const heapN = await heapAfterGc()

  await drive(gw, 2 * N)
  const at3N = sizes()
  // The revocation state is complete by design (test/revocation/faults.test.ts): it holds every live mark, in typed arrays off the heap.
  t.ok(at3N.trackedTokens <= CACHE && at3N.verified <= VERIFY_CACHE,
    `every cache within its limit after ${3 * N} tokens: ${JSON.stringify(at3N)}`)
  const heap3N = await heapAfterGc()
  const grew = heap3N - heapN
  t.ok(grew < MARGIN_BYTES, `heap after GC grew ${(grew / 1024).toFixed(0)} KB from ${N} to ${3 * N} tokens (${(heapN / 1048576).toFixed(1)} -> ${(heap3N / 1048576).toFixed(1)} MB)`)
})
