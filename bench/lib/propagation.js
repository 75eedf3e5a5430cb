import { Pool } from 'undici'
import { Samples, round } from './stats.js'
import { mintOne } from './tokens.js'

async function status (pool, method, path, token) {
  const { statusCode, body } = await pool.request({ method, path, headers: { authorization: `Bearer ${token}` } })
  await body.dump()
  return statusCode
}

/**
 * Revocation propagation between two replicas on one Redis: replica B serves
 * the token `warmHits` times (so its "not revoked" cache holds it), the token
 * is logged out on replica A, and B is polled back to back until it answers
 * 401. Measured from the moment A's logout returned to B's first 401.
 */
export async function measurePropagation ({ a, b, key, trials, warmHits = 20, pollLimitMs = 2000 }) {
  const poolA = new Pool(a.url, { connections: 1 })
  const poolB = new Pool(b.url, { connections: 1 })
  const fromReturn = new Samples()
  const fromCall = new Samples()
  let polls = 0
  let failures = 0
  try {
    for (let i = 0; i < trials; i++) {
      const token = mintOne(key)
      for (let h = 0; h < warmHits; h++) {
        if (await status(poolB, 'GET', '/auth/verify', token) !== 200) throw new Error('replica B refused a fresh token')
      }
      const called = performance.now()
      const logout = await status(poolA, 'POST', '/auth/logout', token)
      const returned = performance.now()
      if (logout !== 200) throw new Error(`logout on replica A answered ${logout}`)
      let denied = false
      while (performance.now() - returned < pollLimitMs) {
        polls++
        if (await status(poolB, 'GET', '/auth/verify', token) === 401) { denied = true; break }
      }
      if (!denied) { failures++; continue }
      const now = performance.now()
      fromReturn.add(now - returned)
      fromCall.add(now - called)
    }
  } finally {
    await Promise.all([poolA.close(), poolB.close()])
  }
  const [p50, p99, max] = fromReturn.percentiles([50, 99, 100])
  const [callP50, callP99] = fromCall.percentiles([50, 99])
  return {
    trials,
    neverDenied: failures,
    pollsPerTrial: round(polls / trials, 2),
    p50: round(p50, 3),
    p99: round(p99, 3),
    max: round(max, 3),
    fromCallP50: round(callP50, 3),
    fromCallP99: round(callP99, 3)
  }
}
