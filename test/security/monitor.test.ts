import t from 'tap'
import type { Alert } from '../../src/security/alert.js'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { sharedRedis } from '../helpers/redis.js'
import { sign } from '../helpers/tokens.js'
import { untilValue } from '../helpers/until.js'
import { startReceiver } from './receiver.js'

const admin = (): string => sign({ claims: { sub: 'ops-1', roles: ['admin'] } })
const ADMIN_ENV = { RATE_LIMIT_ADMIN_PER_MIN: '0' }

/** The counters reach the windows on the next flush; tests flush instead of waiting for the timer. */
async function flushed (gw: Gateway): Promise<void> {
  await gw.app.tokengate.security.monitor.flush()
}

async function alerts (gw: Gateway, query = ''): Promise<Alert[]> {
  await flushed(gw)
  // The alert is stored right after its dedup mark is taken: poll briefly.
  const res = await call(`${gw.url}/admin/alerts${query}`, { token: admin() })
  return res.body.alerts
}

async function alertsOfType (gw: Gateway, type: string, expected: number): Promise<Alert[]> {
  return await untilValue(async () => (await alerts(gw)).filter((a) => a.type === type), (list) => list.length >= expected, 1000)
}

async function verifyFrom (gw: Gateway, token: string, ip = '198.51.100.1'): Promise<number> {
  return (await call(`${gw.url}/auth/verify`, { token, headers: { 'x-forwarded-for': ip } })).status
}

const redis = await sharedRedis(t)
const stores = [['memory', () => ({})], ['redis', () => redis.env()]] as const

for (const [name, storeEnv] of stores) {
  t.test(`${name}: 10 verification failures of one user raise one HIGH alert, 9 do not`, async (t) => {
    const gw = await startGateway(t, { ...ADMIN_ENV, ...storeEnv() })
    // A refresh token on an access route: the signature is valid, so the user is known.
    const wrongType = sign({ claims: { sub: 'mallory', token_type: 'refresh' } })
    for (let i = 0; i < 9; i++) t.equal(await verifyFrom(gw, wrongType), 401)
    t.same(await alertsOfType(gw, 'user_verification_failures', 0), [], 'nothing below the threshold')
    t.equal(await verifyFrom(gw, wrongType), 401)
    const [alert, ...more] = await alertsOfType(gw, 'user_verification_failures', 1)
    t.match(alert, { severity: 'HIGH', user_id: 'mallory', count: 10, threshold: 10, window_s: 3600 })
    t.same(more, [])
    for (let i = 0; i < 5; i++) await verifyFrom(gw, wrongType)
    t.equal((await alertsOfType(gw, 'user_verification_failures', 2)).length, 1, 'deduplicated within the window')
  })

  t.test(`${name}: 50 failures from one client address raise HIGH, 49 do not; other addresses unaffected`, async (t) => {
    const gw = await startGateway(t, { ...ADMIN_ENV, ...storeEnv() })
    const forged = sign({ key: 'attacker-secret-that-is-at-least-32-bytes' })
    for (let i = 0; i < 49; i++) await verifyFrom(gw, forged, '203.0.113.7')
    for (let i = 0; i < 30; i++) await verifyFrom(gw, forged, '203.0.113.8')
    t.same(await alertsOfType(gw, 'ip_verification_failures', 0), [])
    await verifyFrom(gw, forged, '203.0.113.7')
    const list = await alertsOfType(gw, 'ip_verification_failures', 1)
    t.equal(list.length, 1)
    t.match(list[0], { severity: 'HIGH', ip: '203.0.113.7', count: 50, user_id: null })
  })
}

// Issue 18 item 2: the identity is the pair (iss, sub). JWT_ISSUER unset (iss unchecked) lets one secret
// sign tokens of two issuers; alice of B failing must neither add to alice of A's window nor fill her activity.
t.test('failures, alerts and activity are per (issuer, subject)', async (t) => {
  const gw = await startGateway(t, ADMIN_ENV)
  const [A, B] = ['https://a.example', 'https://b.example']
  const wrongType = (iss: string): string => sign({ claims: { iss, sub: 'alice', token_type: 'refresh' } })
  for (let i = 0; i < 5; i++) t.equal(await verifyFrom(gw, wrongType(A)), 401)
  for (let i = 0; i < 9; i++) t.equal(await verifyFrom(gw, wrongType(B)), 401)
  t.same(await alertsOfType(gw, 'user_verification_failures', 0), [], '5 + 9 failures of two users: no alert')
  t.equal(await verifyFrom(gw, wrongType(B)), 401)
  const [alert, ...more] = await alertsOfType(gw, 'user_verification_failures', 1)
  t.match(alert, { user_id: 'alice', iss: B, count: 10 }, 'alice of B reached the threshold, named with her issuer')
  t.same(more, [])

  const activity = async (query: string): Promise<{ status: number, body: any }> => await call(`${gw.url}/admin/users/alice/activity${query}`, { token: admin() })
  const ofA = await untilValue(async () => await activity(`?iss=${encodeURIComponent(A)}`), (res) => res.body.count >= 5, 1000)
  t.match(ofA, { status: 200, body: { user_id: 'alice', iss: A, count: 5 } }, 'A\'s list holds A\'s five failures only')
  const ofB = (await activity(`?iss=${encodeURIComponent(B)}`)).body
  t.equal(ofB.events.filter((e: { event: string }) => e.event === 'verification_failed').length, 10)
  t.ok(ofB.events.some((e: { event: string }) => e.event === 'security_alert'), 'B\'s alert is in B\'s list')
  t.match(await activity(''), { status: 200, body: { iss: '', count: 0 } }, 'no issuer named, none configured: tokens without iss')

  t.equal((await call(`${gw.url}/admin/users/alice/revoke`, { method: 'POST', token: admin(), json: { reason: 'every issuer' } })).status, 200)
  const both = await untilValue(async () => (await activity(`?iss=${encodeURIComponent(A)}`)).body, (body) => body.count === 6, 1000)
  t.equal(both.events[0].event, 'admin_user_revoked', 'a revocation of alice in every issuer is in each issuer\'s list')
})

t.test('token requests per user raise MEDIUM at the threshold', async (t) => {
  const gw = await startGateway(t, { ...ADMIN_ENV, ALERT_USER_TOKEN_REQUESTS_PER_HOUR: '3' })
  let refresh = sign({ claims: { sub: 'busy', token_type: 'refresh', sid: 'busy-s' } })
  const rotate = async (): Promise<void> => {
    const res = await call(`${gw.url}/auth/refresh`, { method: 'POST', json: { refresh_token: refresh } })
    t.equal(res.status, 200)
    refresh = res.body.refresh_token
  }
  await rotate()
  await rotate()
  t.same(await alertsOfType(gw, 'user_token_requests', 0), [])
  await rotate()
  const list = await alertsOfType(gw, 'user_token_requests', 1)
  t.match(list, [{ severity: 'MEDIUM', user_id: 'busy', count: 3, threshold: 3 }])
})

t.test('a revoked token presented again raises one CRITICAL alert per user and window', async (t) => {
  const gw = await startGateway(t, ADMIN_ENV)
  const token = sign({ claims: { sub: 'leaky' } })
  t.equal((await call(`${gw.url}/auth/logout`, { method: 'POST', token })).status, 200)
  t.same(await alertsOfType(gw, 'revoked_token_use', 0), [], 'logging out is not an alert')
  // From another address than the logout's: not its own client retrying (revoked-retry.test.ts).
  t.equal((await call(`${gw.url}/auth/verify`, { token, headers: { 'x-request-id': 'ingress-leak-1', 'x-forwarded-for': '203.0.113.77' } })).status, 401)
  t.equal(await verifyFrom(gw, token), 401)
  const list = await alertsOfType(gw, 'revoked_token_use', 1)
  t.equal(list.length, 1)
  // Issue 20 item 3: the alert names the request it came from, as logs and audit records do.
  t.match(list[0], { severity: 'CRITICAL', user_id: 'leaky', jti: /^.{8}$/, request_id: 'ingress-leak-1' })
  t.equal((await alerts(gw, '?severity=critical')).length, 1, 'severity filter')
  t.equal((await alerts(gw, '?severity=MEDIUM')).length, 0)
  t.equal((await alerts(gw, `?since=${Math.floor(Date.now() / 1000) + 60}`)).length, 0, 'since filter')
  t.equal((await call(`${gw.url}/admin/alerts?severity=urgent`, { token: admin() })).status, 400)
})

t.test('refresh token reuse raises CRITICAL', async (t) => {
  const gw = await startGateway(t, ADMIN_ENV)
  const refresh = sign({ claims: { sub: 'victim', token_type: 'refresh', sid: 'v-1' } })
  t.equal((await call(`${gw.url}/auth/refresh`, { method: 'POST', json: { refresh_token: refresh } })).status, 200)
  t.equal((await call(`${gw.url}/auth/refresh`, { method: 'POST', json: { refresh_token: refresh } })).status, 401)
  t.match(await alertsOfType(gw, 'refresh_token_reuse', 1), [{ severity: 'CRITICAL', user_id: 'victim' }])
})

t.test('one token from more than ALERT_TOKEN_MAX_IPS addresses raises HIGH possible token theft', async (t) => {
  const gw = await startGateway(t, { ...ADMIN_ENV, ALERT_TOKEN_MAX_IPS: '2' })
  const token = sign({ claims: { sub: 'roamer' } })
  t.equal(await verifyFrom(gw, token, '192.0.2.1'), 200)
  t.equal(await verifyFrom(gw, token, '192.0.2.2'), 200)
  t.equal(await verifyFrom(gw, token, '192.0.2.1'), 200)
  t.same(await alertsOfType(gw, 'possible_token_theft', 0), [], 'two addresses are allowed')
  t.equal(await verifyFrom(gw, token, '192.0.2.3'), 200, 'the request itself is not blocked')
  const list = await alertsOfType(gw, 'possible_token_theft', 1)
  t.match(list, [{ severity: 'HIGH', user_id: 'roamer', count: 3, threshold: 2 }])
  t.equal(list[0].jti?.length, 8, 'jti cut to 8 characters')
})

t.test('replicas sharing Redis share the windows and raise an alert once', async (t) => {
  const env = { ...ADMIN_ENV, ...redis.env() }
  const a = await startGateway(t, env)
  const b = await startGateway(t, env)
  const wrongType = sign({ claims: { sub: 'spread', token_type: 'refresh' } })
  for (let i = 0; i < 5; i++) await verifyFrom(a, wrongType)
  for (let i = 0; i < 4; i++) await verifyFrom(b, wrongType)
  await flushed(a)
  t.same(await alertsOfType(b, 'user_verification_failures', 0), [], '9 across both replicas')
  await verifyFrom(a, wrongType)
  await flushed(b)
  t.equal((await alertsOfType(a, 'user_verification_failures', 1)).length, 1)
  await verifyFrom(b, wrongType)
  t.equal((await alertsOfType(b, 'user_verification_failures', 2)).length, 1, 'the other replica does not raise it again')
})

t.test('alerts reach the webhook as JSON, and survive the receiver being down', async (t) => {
  const receiver = await startReceiver(t)
  const gw = await startGateway(t, { ...ADMIN_ENV, ALERT_WEBHOOK_URL: receiver.url })
  const sink = gw.app.tokengate.security
  await verifyFrom(gw, await revokedToken(gw, 'first'))
  await untilValue(async () => receiver.bodies.length, (n) => n === 1)
  t.match(receiver.bodies[0], { source: 'tokengate', alert: { type: 'revoked_token_use', severity: 'CRITICAL', user_id: 'first' } })

  await receiver.stop()
  const started = performance.now()
  await verifyFrom(gw, await revokedToken(gw, 'second'))
  await untilValue(async () => sink.webhookState(), (s) => 'last_error' in s && s.last_error !== null)
  t.ok(performance.now() - started < 2000, 'requests are not held up by the webhook')
  t.equal(await verifyFrom(gw, sign()), 200, 'the gateway keeps serving')
  await receiver.start()
  await untilValue(async () => receiver.bodies.length, (n) => n === 2, 3000)
  t.match(receiver.bodies[1], { alert: { user_id: 'second' } }, 'delivered by a retry once the receiver is back')
  const health = await untilValue(async () => await call(`${gw.url}/admin/health`, { token: admin() }), (res) => res.body.alert_sink.webhook.delivered === 2)
  t.match(health.body.alert_sink.webhook, { configured: true, delivered: 2, dropped: 0, queued: 0 })
})

async function revokedToken (gw: Gateway, sub: string): Promise<string> {
  const token = sign({ claims: { sub } })
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { jti: string, exp: number }
  await gw.app.tokengate.revoker.token('', claims.jti, claims.exp, 'admin_token_revoked')
  return token
}
