import t from 'tap'
import type { AlertGroup } from '../../src/security/alert-groups.js'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { sign } from '../helpers/tokens.js'
import { until } from '../helpers/until.js'

const admin = (): string => sign({ claims: { sub: 'ops-1', roles: ['admin'] } })
const FLOOD = 1100

async function listed (gw: Gateway, query = ''): Promise<AlertGroup[]> {
  // flush() returns once the alerts it raised are stored.
  await gw.app.tokengate.security.monitor.flush()
  return (await call(`${gw.url}/admin/alerts${query}`, { token: admin() })).body.alerts
}

t.test(`a flood of ${FLOOD} per-address alerts neither pushes a CRITICAL alert out nor fills the list`, async (t) => {
  const gw = await startGateway(t, { RATE_LIMIT_ADMIN_PER_MIN: '0', ALERT_IP_FAILURES_PER_HOUR: '1' })
  const revoked = sign({ claims: { sub: 'victim' } })
  await call(`${gw.url}/auth/logout`, { method: 'POST', token: revoked })
  t.equal((await call(`${gw.url}/auth/verify`, { token: revoked, headers: { 'x-forwarded-for': '198.51.100.200' } })).status, 401)
  // revoked_token_use is raised by the request itself, not by a flush: it is stored in the background.
  t.ok(await until(async () => (await listed(gw)).some((g) => g.type === 'revoked_token_use')), 'the CRITICAL alert is stored before the flood')
  const forged = sign({ key: 'attacker-secret-that-is-at-least-32-bytes' })
  for (let batch = 0; batch < FLOOD; batch += 100) {
    await Promise.all(Array.from({ length: 100 }, async (_, i) => {
      const n = batch + i
      await call(`${gw.url}/auth/verify`, { token: forged, headers: { 'x-forwarded-for': `203.0.${Math.floor(n / 250)}.${n % 250}` } })
    }))
  }
  const groups = await listed(gw)
  const ip = groups.find((g) => g.type === 'ip_verification_failures')
  t.match(ip, { severity: 'HIGH', occurrences: 1000 }, 'one entry; the newest 1000 of its own capacity kept')
  t.equal(ip?.ips.length, 20, 'a sample of the addresses, not all of them')
  t.ok(ip !== undefined && Date.parse(ip.first_seen) <= Date.parse(ip.last_seen))
  const critical = groups.find((g) => g.type === 'revoked_token_use')
  t.match(critical, { severity: 'CRITICAL', occurrences: 1, user_id: 'victim', ip: '198.51.100.200' }, 'the CRITICAL alert is still listed')
  t.match(await listed(gw, '?severity=CRITICAL&limit=1'), [{ type: 'revoked_token_use' }])
})
