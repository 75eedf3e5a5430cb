import t from 'tap'
import type { AlertGroup } from '../../src/security/alert-groups.js'
import { EXPIRED_ATTRIBUTION_AFTER_S } from '../../src/tokens/verifier.js'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { nowS, sign } from '../helpers/tokens.js'

const ENV = { RATE_LIMIT_ADMIN_PER_MIN: '0', ALERT_USER_FAILURES_PER_HOUR: '3', JWT_AUDIENCE: 'payments-api' }
const admin = (): string => sign({ claims: { sub: 'ops-1', roles: ['admin'], aud: 'payments-api' }, header: { typ: 'at+jwt' } })

async function userAlerts (gw: Gateway): Promise<AlertGroup[]> {
  // flush() returns once the alerts it raised are stored: nothing is still on its way.
  await gw.app.tokengate.security.monitor.flush()
  const res = await call(`${gw.url}/admin/alerts`, { token: admin() })
  return (res.body.alerts as AlertGroup[]).filter((a) => a.type === 'user_verification_failures')
}

async function presentThrice (gw: Gateway, token: () => string): Promise<void> {
  for (let i = 0; i < 3; i++) t.equal((await call(`${gw.url}/auth/verify`, { token: token() })).status, 401)
}

const expiredAgo = (s: number, sub: string) => () => sign({ claims: { sub, aud: 'payments-api', iat: nowS() - s - 900, exp: nowS() - s } })

t.test('an authentic token refused for its claims counts against its subject: wrong audience, long expired', async (t) => {
  const gw = await startGateway(t, ENV)
  await presentThrice(gw, () => sign({ claims: { sub: 'wrong-aud', aud: 'other-api' } }))
  await presentThrice(gw, expiredAgo(EXPIRED_ATTRIBUTION_AFTER_S + 60, 'long-expired'))
  const [group, ...others] = await userAlerts(gw)
  t.same(others, [], 'one entry per alert type')
  t.same([...group.user_ids].sort(), ['long-expired', 'wrong-aud'])
  t.equal(group.occurrences, 2)
  const activity = await call(`${gw.url}/admin/users/long-expired/activity`, { token: admin() })
  t.ok(activity.body.events.some((e: { event: string, reason: string }) => e.event === 'verification_failed' && e.reason === 'expired'))
})

t.test(`a token expired less than ${EXPIRED_ATTRIBUTION_AFTER_S} s ago raises nothing for its subject (parallel requests at expiry)`, async (t) => {
  const gw = await startGateway(t, ENV)
  await presentThrice(gw, expiredAgo(60, 'just-expired'))
  t.same(await userAlerts(gw), [])
})

t.test('a forged token names a subject but counts per address only', async (t) => {
  const gw = await startGateway(t, ENV)
  await presentThrice(gw, () => sign({ key: 'attacker-secret-that-is-at-least-32-bytes', claims: { sub: 'victim', aud: 'payments-api' } }))
  await presentThrice(gw, () => sign({ key: 'attacker-secret-that-is-at-least-32-bytes', claims: { sub: 'victim', aud: 'other-api', exp: nowS() - 3600 } }))
  t.same(await userAlerts(gw), [], 'the victim is not blamed for what an attacker forged')
  const activity = await call(`${gw.url}/admin/users/victim/activity`, { token: admin() })
  t.same(activity.body.events, [])
})

t.test('a token of the wrong typ (JWT_REQUIRED_TYP) counts against its subject', async (t) => {
  const gw = await startGateway(t, { ...ENV, JWT_REQUIRED_TYP: 'at+jwt' })
  await presentThrice(gw, () => sign({ claims: { sub: 'id-token-user', aud: 'payments-api' }, header: { typ: 'JWT' } }))
  t.same((await userAlerts(gw)).map((a) => a.user_id), ['id-token-user'])
})
