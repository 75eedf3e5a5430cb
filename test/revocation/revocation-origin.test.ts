import t from 'tap'
import fc from 'fast-check'
import { FORMAT_VERSION } from '../../src/revocation/redis/format-version.js'
import { decodeEntry } from '../../src/revocation/redis/log-entry.js'
import { RecentRevocations } from '../../src/revocation/recent-revocations.js'
import { addressDigest, decodeOrigin, encodeOrigin, type RevocationOrigin } from '../../src/revocation/revocation-origin.js'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { startRedis } from '../helpers/redis.js'
import { sign } from '../helpers/tokens.js'

const origins: fc.Arbitrary<RevocationOrigin> = fc.record({
  at: fc.integer({ min: 0, max: 2 ** 50 }),
  address: fc.option(fc.oneof(fc.ipV4(), fc.ipV6()).map(addressDigest), { nil: null })
})

t.test('an origin survives the log entry\'s o field; anything unreadable is no origin, never a lost revocation', async (t) => {
  fc.assert(fc.property(origins, (origin) => {
    const decoded = decodeOrigin(encodeOrigin(origin))
    return decoded?.at === origin.at && decoded.address === origin.address
  }))
  fc.assert(fc.property(fc.string(), (field) => {
    const fields = ['f', String(FORMAT_VERSION), 's', '', 'k', 'jti', 'i', 'j-1', 'v', '', 'e', '2000000000', 'o', field]
    const event = decodeEntry(fields)
    // The revocation is read whatever the field says; an origin only when the field is one.
    return event !== null && event.kind === 'jti' && (event.origin === undefined || encodeOrigin(event.origin) === field)
  }))
  t.equal(encodeOrigin(undefined), '')
  t.equal(decodeOrigin('1700000000000 not-a-digest'), undefined)
  t.equal(decodeOrigin('-5'), undefined)
  for (const spelling of ['+0', '1e3', '0x10', '00', ' 5', '5 ']) t.equal(decodeOrigin(spelling), undefined, `"${spelling}" is not how an origin is written`)
})

t.test('the address is a digest: equal for equal addresses, never the address itself', async () => {
  fc.assert(fc.property(fc.ipV4(), fc.ipV4(), (a, b) => (addressDigest(a) === addressDigest(b)) === (a === b) && !addressDigest(a).includes(a)))
})

t.test('a replica of this version ignores no field it needs: the origin is optional, so no format version is spent', async (t) => {
  const fields = ['f', String(FORMAT_VERSION), 's', 'https://issuer.example', 'k', 'session', 'i', 's-1', 'v', '', 'e', '2000000000']
  t.same(decodeEntry(fields), { kind: 'session', id: 's-1', issuer: 'https://issuer.example', expiresAt: 2000000000 }, 'an entry without o (a replica of the previous release wrote it)')
  t.same(decodeEntry([...fields, 'o', '1700000000000']), { kind: 'session', id: 's-1', issuer: 'https://issuer.example', expiresAt: 2000000000, origin: { at: 1700000000000, address: null } })
})

t.test('a logout writes its origin into the Redis log; an administrator\'s revocation writes none', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const gw = await startGateway(t, { REDIS_URL: redis.url, RATE_LIMIT_ADMIN_PER_MIN: '0' })
  const before = Date.now()
  const logout = await call(`${gw.url}/auth/logout`, { method: 'POST', token: sign({ claims: { sub: 'u-1' } }), headers: { 'x-forwarded-for': '192.0.2.44' } })
  t.equal(logout.status, 200)
  const admin = sign({ claims: { sub: 'ops-1', roles: ['admin'] } })
  t.equal((await call(`${gw.url}/admin/users/u-2/revoke`, { method: 'POST', json: { reason: 'test' }, token: admin })).status, 200)
  const entries = (await redis.client.xrange('revoked:log', '-', '+')).map(([, fields]) => decodeEntry(fields))
  t.equal(entries.length, 3, 'the logout\'s jti and session marks, the administrator\'s user mark')
  for (const event of entries.slice(0, 2)) {
    t.equal(event?.origin?.address, addressDigest('192.0.2.44'))
    t.ok((event?.origin?.at ?? 0) >= before && (event?.origin?.at ?? 0) <= Date.now())
  }
  t.equal(entries[2]?.origin, undefined)
  t.notMatch(JSON.stringify(await redis.client.xrange('revoked:log', '-', '+')), /192\.0\.2\.44/, 'the address itself is not in Redis')
})

t.test('recent revocations are bounded in time and in number', async (t) => {
  let now = 1_000_000
  const recent = new RecentRevocations(30_000, () => now)
  recent.add({ kind: 'session', id: 's-1', issuer: 'i', expiresAt: 9e9, origin: { at: now, address: null } })
  t.same(recent.of({ iss: 'i', jti: 'j', sid: 's-1', sub: 'u' }), { at: now, address: null })
  t.equal(recent.of({ iss: 'other', jti: 'j', sid: 's-1', sub: 'u' }), undefined, 'per issuer')
  now += 30_001
  t.equal(recent.of({ iss: 'i', jti: 'j', sid: 's-1', sub: 'u' }), undefined, 'past the window')
  for (let i = 0; i < 20_000; i++) recent.add({ kind: 'jti', id: `j-${i}`, issuer: 'i', expiresAt: 9e9, origin: { at: now, address: null } })
  t.equal(recent.size, 10_000, 'the oldest go first')
  t.ok(recent.of({ iss: 'i', jti: 'j-19999', sid: 'x', sub: 'u' }))
  t.equal(recent.of({ iss: 'i', jti: 'j-0', sid: 'x', sub: 'u' }), undefined)
})
