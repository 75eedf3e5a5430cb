import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { sharedRedis } from '../helpers/redis.js'
import { sign } from '../helpers/tokens.js'
import { msUntil, until } from '../helpers/until.js'

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

const redis = await sharedRedis(t)

// The p99 target (10 ms) is measured by `npm run bench` on a quiet machine; here the
// behaviour is asserted (B denies, promptly) and the figures are reported.
t.test('a logout on replica A is enforced by replica B right after it returns', async (t) => {
  const env = { ...redis.env(), RATE_LIMIT_LOGOUT_PER_MIN: '0' }
  const a = await startGateway(t, env)
  const b = await startGateway(t, env)
  const delays: number[] = []
  for (let i = 0; i < 60; i++) {
    const token = sign({ claims: { sid: `prop-${i}` } })
    // B verifies the token several times first: its verified-token cache holds it, and must not hide the revocation.
    for (let k = 0; k < 3; k++) t.equal((await call(`${b.url}/auth/verify`, { token })).status, 200)
    t.equal((await call(`${a.url}/auth/logout`, { method: 'POST', token })).status, 200)
    let status = 200
    delays.push(await msUntil(async () => (status = (await call(`${b.url}/auth/verify`, { token })).status) !== 200, 1000, 0))
    t.equal(status, 401)
  }
  delays.sort((x, y) => x - y)
  const p50 = percentile(delays, 50)
  const p99 = percentile(delays, 99)
  t.comment(`propagation A->B over ${delays.length} logouts: p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms`)
  t.ok(p99 < 250, `every logout reached B promptly (p99 ${p99.toFixed(2)} ms)`)
})

t.test('no stale "not revoked" on B under concurrent verify and revoke', async (t) => {
  const env = { ...redis.env(), RATE_LIMIT_LOGOUT_PER_MIN: '0' }
  const a = await startGateway(t, env)
  const b = await startGateway(t, env)
  for (let round = 0; round < 20; round++) {
    const token = sign({ claims: { sid: `race-${round}` } })
    const race = { over: false, checkedSinceDenied: 0 }
    // Hammer B while A revokes: once A's call has returned, B must never say 200 again.
    const hammer = (async () => {
      const late: number[] = []
      let revokedAt = Infinity
      while (!race.over) {
        const started = performance.now()
        const { status } = await call(`${b.url}/auth/verify`, { token })
        if (started > revokedAt + 10) race.checkedSinceDenied++
        if (status === 200 && started > revokedAt + 10) late.push(started - revokedAt)
        if (status === 401) revokedAt = Math.min(revokedAt, started)
      }
      return late
    })()
    await call(`${b.url}/auth/verify`, { token })
    const res = await call(`${a.url}/auth/logout`, { method: 'POST', token })
    t.equal(res.status, 200)
    // The race is only watched once B has answered several times after its first denial.
    t.ok(await until(() => race.checkedSinceDenied >= 3, 2000, 1), `round ${round}: B asked after it denied`)
    t.equal((await call(`${b.url}/auth/verify`, { token })).status, 401, `round ${round}: B denies after A returned`)
    race.over = true
    t.same(await hammer, [], `round ${round}: no 200 from B after it once denied`)
  }
})

t.test('rate limits are shared by replicas on one Redis', async (t) => {
  const env = { ...redis.env(), RATE_LIMIT_REVOKE_PER_MIN: '4' }
  const a = await startGateway(t, env)
  const b = await startGateway(t, env)
  const statuses: number[] = []
  for (let i = 0; i < 6; i++) {
    const gw = i % 2 === 0 ? a : b
    statuses.push((await call(`${gw.url}/auth/revoke`, { method: 'POST', token: sign() })).status)
  }
  t.same(statuses, [200, 200, 200, 200, 429, 429])
  const limited = await call(`${a.url}/auth/revoke`, { method: 'POST', token: sign() })
  t.equal(limited.status, 429)
  t.equal(limited.body.error, 'rate_limited')
  t.ok(Number(limited.headers.get('retry-after')) > 0, 'Retry-After is set')
})

t.test('logout is limited to 10 per minute per user by default', async (t) => {
  const gw = await startGateway(t)
  const statuses: number[] = []
  for (let i = 0; i < 11; i++) statuses.push((await call(`${gw.url}/auth/logout`, { method: 'POST', token: sign() })).status)
  t.same(statuses.slice(0, 10), Array(10).fill(200))
  t.equal(statuses[10], 429)
})
