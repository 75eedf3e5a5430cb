import t from 'tap'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { basic, call } from '../helpers/http.js'
import { sharedRedis } from '../helpers/redis.js'
import { sign } from '../helpers/tokens.js'
import { scrape, valueOf } from '../helpers/scrape.js'

// Issue 11 item 4: limits protect users instead of locking them out. Every gateway here
// runs on a real Redis store, the one replicas share, and every request comes from 127.0.0.1.
interface Teardown { teardown: (fn: () => unknown) => void }

const redis = await sharedRedis(t)

async function redisGateway (t: Teardown, env: Record<string, string> = {}): Promise<Gateway> {
  return await startGateway(t, { ...redis.env(), ...env })
}

const SECRET = 'rs-client-secret-rs-client-secret-rs'

t.test('25 users logging out from one address within a minute all succeed (default limits)', async (t) => {
  const gw = await redisGateway(t)
  const statuses = await Promise.all(Array.from({ length: 25 }, async (_, i) =>
    (await call(`${gw.url}/auth/logout`, { method: 'POST', token: sign({ claims: { sub: `user-${i}` } }) })).status))
  t.same(statuses, Array(25).fill(200))
})

t.test('token-less logouts from an address never block a real user\'s logout; they are limited per address', async (t) => {
  const gw = await redisGateway(t, { RATE_LIMIT_UNAUTHENTICATED_PER_MIN: '10' })
  const refused: number[] = []
  for (let i = 0; i < 12; i++) refused.push((await call(`${gw.url}/auth/logout`, { method: 'POST' })).status)
  t.same(refused.slice(0, 10), Array(10).fill(401))
  t.same(refused.slice(10), [429, 429], 'unauthenticated attempts count against the address')
  const forged = await call(`${gw.url}/auth/logout`, { method: 'POST', token: sign({ key: 'forged-secret-forged-secret-forged-secret' }) })
  t.equal(forged.status, 429, 'so do forged tokens')
  const user = await call(`${gw.url}/auth/logout`, { method: 'POST', token: sign({ claims: { sub: 'real-user' } }) })
  t.equal(user.status, 200, 'the real user logs out')
  t.equal((await call(`${gw.url}/auth/revoke`, { method: 'POST', token: sign({ claims: { sub: 'real-user' } }) })).status, 200)
})

t.test('a user\'s budget is their own: one user over the limit does not limit the next one at the same address', async (t) => {
  const gw = await redisGateway(t, { RATE_LIMIT_LOGOUT_PER_MIN: '3' })
  const statuses: number[] = []
  for (let i = 0; i < 4; i++) statuses.push((await call(`${gw.url}/auth/logout`, { method: 'POST', token: sign({ claims: { sub: 'busy' } }) })).status)
  t.same(statuses, [200, 200, 200, 429])
  const limited = await call(`${gw.url}/auth/logout`, { method: 'POST', token: sign({ claims: { sub: 'busy' } }) })
  t.equal(limited.body.error, 'rate_limited')
  t.ok(Number(limited.headers.get('retry-after')) > 0, 'Retry-After is set')
  t.equal((await call(`${gw.url}/auth/logout`, { method: 'POST', token: sign({ claims: { sub: 'calm' } }) })).status, 200)
  t.equal((await call(`${gw.url}/auth/logout`, { method: 'POST', token: sign({ claims: { sub: 'busy', client_id: 'tablet' } }) })).status, 200, 'keyed by subject and client id')
})

t.test('refresh rotation abuse is limited per subject; other accounts at the address keep rotating', async (t) => {
  const gw = await redisGateway(t, { RATE_LIMIT_REFRESH_PER_MIN: '10' })
  let refresh = sign({ claims: { sub: 'abuser', sid: 'a', token_type: 'refresh' } })
  const statuses: number[] = []
  for (let i = 0; i < 11; i++) {
    const res = await call(`${gw.url}/auth/refresh`, { method: 'POST', json: { refresh_token: refresh } })
    statuses.push(res.status)
    if (res.status === 200) refresh = res.body.refresh_token
  }
  t.same(statuses, [...Array(10).fill(200), 429], 'the 11th rotation in a minute is refused (was: 20,000 in 6 s)')
  const other = sign({ claims: { sub: 'someone-else', token_type: 'refresh' } })
  t.equal((await call(`${gw.url}/auth/refresh`, { method: 'POST', json: { refresh_token: other } })).status, 200)
  // The limited call did not spend the token: past the window the client retries with it.
  t.equal((await gw.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: refresh }, remoteAddress: '198.51.100.7' })).statusCode, 429, 'still the subject\'s limit, not reuse')
})

t.test('issue 16 §3: a flood of bad refreshes from one address locks none of its users out of rotation; failures still meet the budget', async (t) => {
  const gw = await redisGateway(t, { RATE_LIMIT_REFRESH_PER_ADDRESS_PER_MIN: '5' })
  const refresh = async (token: string): Promise<number> => (await call(`${gw.url}/auth/refresh`, { method: 'POST', json: { refresh_token: token } })).status
  const users = await Promise.all(Array.from({ length: 12 }, async (_, i) => await refresh(sign({ claims: { sub: `nat-user-${i}`, token_type: 'refresh' } }))))
  t.same(users, Array(12).fill(200), '12 users behind one address all rotate: a verified refresh uses no address budget')
  const flood: number[] = []
  for (let i = 0; i < 8; i++) flood.push(await refresh(i % 2 === 0 ? 'garbage' : sign({ key: 'forged-secret-forged-secret-forged-secret', claims: { token_type: 'refresh' } })))
  t.same(flood, [401, 401, 401, 401, 401, 429, 429, 429], 'failed attempts are counted per address')
  t.equal(await refresh(sign({ claims: { sub: 'nat-user-late', token_type: 'refresh' } })), 200, 'a valid refresh from the flooded address still rotates')
  t.equal(await refresh('garbage'), 429, 'and the flood stays limited')
})

t.test('refresh, introspection and RFC 7009 revocation are limited per address; IPv6 by /64', async (t) => {
  const gw = await redisGateway(t, {
    RATE_LIMIT_REFRESH_PER_ADDRESS_PER_MIN: '3',
    RATE_LIMIT_OAUTH_PER_ADDRESS_PER_MIN: '3',
    INTROSPECTION_CLIENTS: `rs:${SECRET}`
  })
  const from = (address: string): Record<string, string> => ({ 'x-forwarded-for': address })
  const refresh = async (address: string): Promise<number> => (await call(`${gw.url}/auth/refresh`, { method: 'POST', headers: from(address), json: { refresh_token: 'garbage' } })).status
  t.same([await refresh('2001:db8::1'), await refresh('2001:db8::2'), await refresh('2001:db8::ffff:1'), await refresh('2001:db8::3')], [401, 401, 401, 429], 'one /64 shares a budget')
  t.equal(await refresh('2001:db8:0:1::1'), 401, 'the next /64 has its own')
  t.equal(await refresh('203.0.113.5'), 401, 'so does an IPv4 address')
  for (const path of ['/oauth/introspect', '/oauth/revoke']) {
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) statuses.push((await call(`${gw.url}${path}`, { method: 'POST', headers: { ...from(`198.51.100.${path.length}`), authorization: basic('rs', SECRET) }, form: { token: 'garbage' } })).status)
    t.same(statuses.slice(0, 2), [200, 200], path)
    t.equal(statuses[3], 429, `${path}: over the address limit`)
  }
})

t.test('failed client authentication on /oauth/* is counted in a metric and limited per address and client id', async (t) => {
  const gw = await redisGateway(t, { INTROSPECTION_CLIENTS: `rs:${SECRET},other:${SECRET}x`, RATE_LIMIT_CLIENT_AUTH_FAILURES_PER_MIN: '5' })
  const introspect = async (headers: Record<string, string>): Promise<number> => (await call(`${gw.url}/oauth/introspect`, { method: 'POST', headers, form: { token: sign() } })).status
  for (let i = 0; i < 6; i++) t.equal(await introspect({ authorization: basic('rs', SECRET) }), 200, 'successes use no failure budget')
  const statuses: number[] = []
  for (let i = 0; i < 7; i++) statuses.push(await introspect({ authorization: basic('rs', `guess-${i}`) }))
  t.same(statuses, [401, 401, 401, 401, 401, 429, 429])
  t.equal(await introspect({ authorization: basic('other', `${SECRET}x`) }), 200, 'another client at the address is not locked out')
  t.equal(await introspect({ authorization: basic('rs', SECRET) }), 429, 'past the budget even the right secret waits: no guessing until the window ends')
  t.equal(await introspect({ authorization: basic('rs', SECRET), 'x-forwarded-for': '203.0.113.9' }), 200, 'the same client from another address')
  const samples = await scrape(gw.url)
  t.equal(valueOf(samples, 'tokengate_oauth_client_auth_failures_total', { endpoint: 'introspect', reason: 'rejected' }), 5)
  t.equal(valueOf(samples, 'tokengate_oauth_client_auth_failures_total', { endpoint: 'introspect', reason: 'rate_limited' }), 3)
  await call(`${gw.url}/oauth/revoke`, { method: 'POST', form: { token: 'x' } })
  t.equal(valueOf(await scrape(gw.url), 'tokengate_oauth_client_auth_failures_total', { endpoint: 'revoke', reason: 'missing' }), 1)
})

t.test('admin limits count per admin after authentication', async (t) => {
  const gw = await redisGateway(t, { RATE_LIMIT_ADMIN_PER_MIN: '2' })
  const admin = (sub: string): string => sign({ claims: { sub, roles: ['admin'] } })
  const statuses: number[] = []
  for (let i = 0; i < 3; i++) statuses.push((await call(`${gw.url}/admin/health`, { token: admin('ops-1') })).status)
  t.same(statuses, [200, 200, 429])
  t.equal((await call(`${gw.url}/admin/revoke-all`, { method: 'POST', token: admin('ops-1'), json: { reason: 'x' } })).status, 429, 'one budget over every admin route')
  t.equal((await call(`${gw.url}/admin/health`, { token: admin('ops-2') })).status, 200, 'another admin is not limited by the first')
})
