import t from 'tap'
import fc from 'fast-check'
import { ANY_ISSUER } from '../../src/revocation/issuer-scope.js'
import { FORMAT_VERSION, UnknownFormatError } from '../../src/revocation/redis/format-version.js'
import { readRecords } from '../../src/revocation/redis/index-loader.js'
import { bucketExpiry, bucketOf, indexRecord } from '../../src/revocation/redis/load-index.js'
import { decodeEntry } from '../../src/revocation/redis/log-entry.js'
import type { RevocationEvent } from '../../src/revocation/store.js'
import { nowSeconds } from '../../src/revocation/store.js'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { startRedis } from '../helpers/redis.js'
import { until } from '../helpers/until.js'
import { marks } from './marks.js'

const NEWER = FORMAT_VERSION + 1

t.test('an old reader refuses what a newer writer wrote, entry and index record, whatever the revocation', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const gw = await startGateway(t, { REDIS_URL: redis.url, JWT_ISSUER: 'https://issuer.example' })
  await gw.app.tokengate.revoker.user('https://issuer.example', 'sub-1', 'admin_user_revoked')
  const [[, fields]] = await redis.client.xrange('revoked:log', '-', '+')
  const [bucket] = await redis.client.keys('revoked:idx:*')
  const record = await redis.client.getBuffer(bucket)
  if (record === null) throw new Error('no index record')
  const event = decodeEntry(fields)
  t.match(event, { kind: 'user', id: 'sub-1', issuer: 'https://issuer.example' }, 'this version reads its own entry, issuer included')
  t.throws(() => decodeEntry(fields, FORMAT_VERSION - 1), UnknownFormatError, 'a reader of the previous version refuses it')
  t.throws(() => readRecords(record, { onEvent: () => {} }, FORMAT_VERSION - 1), UnknownFormatError, 'and its index record')
  // Every event, not one example: a reader that knows less never reads a newer write as something else.
  fc.assert(fc.property(fc.string(), fc.string(), fc.integer({ min: 1, max: 2 ** 31 }), (id, issuer, at) => {
    const written: RevocationEvent = { kind: 'session', id: `s${id}`, issuer, expiresAt: at }
    const got: RevocationEvent[] = []
    readRecords(indexRecord(written), { onEvent: (e) => got.push(e) }, FORMAT_VERSION)
    if (at > nowSeconds() && JSON.stringify(got) !== JSON.stringify([written])) throw new Error('round trip')
    try {
      readRecords(indexRecord(written), { onEvent: () => {} }, FORMAT_VERSION - 1)
      return false
    } catch (err) {
      return err instanceof UnknownFormatError
    }
  }))
})

t.test('entries and records of versions 1 and 2 are marks of every issuer; version 3 keeps its issuer', async (t) => {
  const fields = ['k', 'jti', 'i', 'j-1', 'v', '', 'e', '2000000000']
  t.match(decodeEntry(fields), { kind: 'jti', id: 'j-1', issuer: ANY_ISSUER }, 'version 1 (no f): every issuer')
  t.match(decodeEntry(['f', '2', 's', 'https://issuer.example', ...fields]), { issuer: ANY_ISSUER }, 'version 2 names an issuer, but its key did not: every issuer')
  t.match(decodeEntry(['f', '3', 's', 'https://issuer.example', ...fields]), { issuer: 'https://issuer.example' }, 'version 3: that issuer only')
  const v2 = indexRecord({ kind: 'session', id: 's-1', issuer: 'https://issuer.example', expiresAt: nowSeconds() + 600 })
  v2[0] = 0x80 | 2
  const got: RevocationEvent[] = []
  readRecords(v2, { onEvent: (e) => got.push(e) })
  t.match(got, [{ kind: 'session', id: 's-1', issuer: ANY_ISSUER }], 'a version 2 index record too')
})

t.test('a replica that meets a log entry in a newer format stops following and is not ready, naming the version', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const gw = await startGateway(t, { REDIS_URL: redis.url })
  t.equal((await call(`${gw.url}/readyz`)).status, 200, 'ready at first')
  const expires = String(nowSeconds() + 600)
  await redis.client.xadd('revoked:log', '*', 'f', String(NEWER), 's', '', 'k', 'jti', 'i', 'from-the-future', 'v', '', 'e', expires)
  t.ok(await until(async () => (await call(`${gw.url}/readyz`)).status === 503, 3000), '/readyz answers 503')
  t.notOk(gw.app.tokengate.replica.ready, 'the state says it stopped')
  t.ok(gw.logs.some((line) => line.includes('newer format') && line.includes(`"version":${NEWER}`)), 'a log line names the version')
  // A later entry in a known format is not applied: the replica no longer follows.
  await redis.client.xadd('revoked:log', '*', 'k', 'jti', 'i', 'later', 'v', '', 'e', expires)
  await until(() => !gw.app.tokengate.replica.current, 3000)
  t.notOk(gw.app.tokengate.replica.current, 'its state ages past MAX_STALENESS_MS: checks go to the store')
})

t.test('a replica whose full load meets an index record in a newer format never becomes ready', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const now = nowSeconds()
  const record = indexRecord({ kind: 'jti', id: 'x', issuer: '', expiresAt: now + 600 })
  record[0] = 0x80 | NEWER
  const bucket = `revoked:idx:${bucketOf(now + 600, now, 8 * 86_400)}`
  await redis.client.set(bucket, record)
  await redis.client.expireat(bucket, bucketExpiry(bucketOf(now + 600, now, 8 * 86_400), now + 600))
  const gw = await startGateway(t, { REDIS_URL: redis.url })
  t.equal((await call(`${gw.url}/readyz`)).status, 503)
  t.notOk(gw.app.tokengate.replica.loaded, 'nothing was read as something else')
  t.ok(gw.logs.some((line) => line.includes(`"version":${NEWER}`)), 'a log line names the version')
})

t.test('this version reads what the previous one wrote (entries and records without a version)', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const now = nowSeconds()
  // A version 1 index record: kind, before, expires, id length, id.
  const v1 = Buffer.alloc(11 + 3)
  v1.writeUInt8(1, 0)
  v1.writeUInt32BE(now + 600, 5)
  v1.writeUInt16BE(3, 9)
  v1.write('old', 11)
  const bucket = bucketOf(now + 600, now, 8 * 86_400)
  await redis.client.set(`revoked:idx:${bucket}`, v1)
  await redis.client.expireat(`revoked:idx:${bucket}`, bucketExpiry(bucket, now + 600))
  const gw = await startGateway(t, { REDIS_URL: redis.url })
  t.equal((await call(`${gw.url}/readyz`)).status, 200)
  await redis.client.xadd('revoked:log', '*', 'k', 'session', 'i', 'old-sid', 'v', '', 'e', String(now + 600))
  await marks(gw.app.tokengate.store).token('new', 600)
  const checker = gw.app.tokengate.checker
  t.ok(await until(async () => await checker.check({ iss: '', jti: 'x', sid: 'old-sid', sub: 'u', iat: now }) === 'session'), 'a version 1 log entry is applied')
  t.equal(await checker.check({ iss: '', jti: 'old', sid: 'y', sub: 'u', iat: now }), 'jti', 'a version 1 index record was loaded')
  t.equal(await checker.check({ iss: '', jti: 'new', sid: 'y', sub: 'u', iat: now }), 'jti', 'beside this version\'s writes')
  t.ok(gw.app.tokengate.replica.ready)
})
