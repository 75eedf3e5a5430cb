import t from 'tap'
import type { Alert } from '../../src/security/alert.js'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { sharedRedis } from '../helpers/redis.js'
import { sign } from '../helpers/tokens.js'
import { untilValue } from '../helpers/until.js'

// Issue 20 item 6: a client retrying once after its own logout (same address,
// shortly after) is told from a revoked token used elsewhere or later; only the
// second pages as CRITICAL. The origin travels in the revocation log, so the
// retry may reach another replica than the logout did.

const admin = (): string => sign({ claims: { sub: 'ops-1', roles: ['admin'] } })
const ENV = { RATE_LIMIT_ADMIN_PER_MIN: '0', RATE_LIMIT_LOGOUT_PER_MIN: '0' }
const CLIENT = '192.0.2.10'
const ELSEWHERE = '203.0.113.5'

async function alerts (gw: Gateway): Promise<Alert[]> {
  await gw.app.tokengate.security.monitor.flush()
  return (await call(`${gw.url}/admin/alerts`, { token: admin() })).body.alerts
}

/** Waits until `type` was raised `n` times (alerts are stored just after their dedup mark). */
async function raised (gw: Gateway, type: string, n: number): Promise<Alert[]> {
  return await untilValue(async () => (await alerts(gw)).filter((a) => a.type === type), (list) => list.length >= n, 1000)
}

async function logoutFrom (gw: Gateway, token: string, ip: string): Promise<void> {
  const res = await call(`${gw.url}/auth/logout`, { method: 'POST', token, headers: { 'x-forwarded-for': ip } })
  if (res.status !== 200) throw new Error(`logout answered ${res.status}`)
}

async function useFrom (gw: Gateway, token: string, ip: string, requestId?: string): Promise<number> {
  const headers: Record<string, string> = { 'x-forwarded-for': ip }
  if (requestId !== undefined) headers['x-request-id'] = requestId
  return (await call(`${gw.url}/auth/verify`, { token, headers })).status
}

const redis = await sharedRedis(t)

t.test('a retry on another replica from the logout\'s address is LOW; the same token from elsewhere is CRITICAL', async (t) => {
  const env = { ...ENV, ...redis.env() }
  const [a, b] = [await startGateway(t, env), await startGateway(t, env)]
  const token = sign({ claims: { sub: 'alice' } })
  await logoutFrom(a, token, CLIENT)
  // Replica b learns the revocation (and its origin) from the log.
  t.equal(await untilValue(async () => await useFrom(b, token, CLIENT, 'retry-1'), (status) => status === 401), 401)
  const retries = await raised(b, 'revoked_token_retry', 1)
  t.match(retries, [{ severity: 'LOW', user_id: 'alice', request_id: /^retry-1$|^[^,]+$/, message: /by its owner from the same client address/ }])
  t.same((await alerts(b)).filter((x) => x.severity === 'CRITICAL'), [], 'the client retrying after its own logout pages no one')

  t.equal(await useFrom(b, token, ELSEWHERE, 'thief-1'), 401)
  const uses = await raised(a, 'revoked_token_use', 1)
  t.match(uses, [{ severity: 'CRITICAL', user_id: 'alice', ip: ELSEWHERE, request_id: 'thief-1', message: /by its owner from another client address/ }])
})

t.test('the same address after the window is CRITICAL (ALERT_REVOKED_RETRY_WINDOW_S)', async (t) => {
  const gw = await startGateway(t, { ...ENV, ...redis.env(), ALERT_REVOKED_RETRY_WINDOW_S: '1' })
  const token = sign({ claims: { sub: 'bob' } })
  await logoutFrom(gw, token, CLIENT)
  await new Promise((resolve) => setTimeout(resolve, 1200))
  t.equal(await useFrom(gw, token, CLIENT), 401)
  t.match(await raised(gw, 'revoked_token_use', 1), [{ severity: 'CRITICAL', user_id: 'bob' }])
  t.same((await alerts(gw)).filter((x) => x.type === 'revoked_token_retry'), [])
})

t.test('ALERT_REVOKED_RETRY_WINDOW_S=0: every use of a revoked token is CRITICAL, as before', async (t) => {
  const gw = await startGateway(t, { ...ENV, ALERT_REVOKED_RETRY_WINDOW_S: '0' })
  const token = sign({ claims: { sub: 'carol' } })
  await logoutFrom(gw, token, CLIENT)
  t.equal(await useFrom(gw, token, CLIENT), 401)
  t.match(await raised(gw, 'revoked_token_use', 1), [{ severity: 'CRITICAL', user_id: 'carol' }])
})

t.test('an administrator\'s revocation has no owner to retry: any use is CRITICAL, from any address', async (t) => {
  const gw = await startGateway(t, { ...ENV, ...redis.env() })
  const token = sign({ claims: { sub: 'dave', sid: 'dave-s1' } })
  const res = await call(`${gw.url}/admin/users/dave/revoke`, { method: 'POST', json: { reason: 'suspected compromise' }, token: admin(), headers: { 'x-forwarded-for': CLIENT } })
  t.equal(res.status, 200, JSON.stringify(res.body))
  t.equal(await useFrom(gw, token, CLIENT), 401)
  t.match(await raised(gw, 'revoked_token_use', 1), [{ severity: 'CRITICAL', user_id: 'dave', message: 'a revoked token was presented' }])
})

t.test('after an identity provider\'s revocation only the time counts: its address is not the client\'s', async (t) => {
  const gw = await startGateway(t, { ...ENV, ...redis.env() })
  const token = sign({ claims: { sub: 'erin', sid: 'erin-s1' } })
  const { outcome } = await gw.app.tokengate.idpRevoker.enforce({ source: 'backchannel_logout', kind: 'session', issuer: '', id: 'erin-s1', subject: 'erin' })
  t.equal(outcome, 'stored')
  t.equal(await useFrom(gw, token, ELSEWHERE), 401)
  t.match(await raised(gw, 'revoked_token_retry', 1), [{ severity: 'LOW', message: /by its identity provider/ }])
  t.same((await alerts(gw)).filter((x) => x.severity === 'CRITICAL'), [])
})

t.test('the memory store keeps the origin too', async (t) => {
  const gw = await startGateway(t, ENV)
  const token = sign({ claims: { sub: 'frank' } })
  await logoutFrom(gw, token, CLIENT)
  t.equal(await useFrom(gw, token, CLIENT), 401)
  t.match(await raised(gw, 'revoked_token_retry', 1), [{ severity: 'LOW', user_id: 'frank' }])
  t.equal(await useFrom(gw, token, ELSEWHERE), 401)
  t.match(await raised(gw, 'revoked_token_use', 1), [{ severity: 'CRITICAL', user_id: 'frank' }])
})
