import t from 'tap'
import type { RevocationChecker } from '../../src/revocation/checker.js'
import { nowSeconds, type LookupQuery } from '../../src/revocation/store.js'
import { startRedis } from '../helpers/redis.js'
import { redisStore, replicaOn } from './fixtures.js'
import { marks } from './marks.js'

// Issue 12: a replica's full load (at start, after a trimmed log or a failover) reads the load index.
const OPTIONS = { timeoutMs: 50, failMode: 'closed', maxStalenessMs: 1000 } as const
const MARKS = 20_000

function totalCalls (info: string): number {
  let calls = 0
  for (const match of info.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)) if (match[1] !== 'info' && match[1] !== 'config') calls += Number(match[2])
  return calls
}

t.test('a full load costs one command per hour bucket, not per mark, and loses no kind of mark', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const writer = await redisStore(t, redis.url)
  for (let i = 0; i < MARKS; i += 1000) {
    await Promise.all(Array.from({ length: 1000 }, async (_, j) => await marks(writer).token(`jti-${i + j}`, 600 + ((i + j) % 7200))))
  }
  // Past the log's retention (8 days): a token whose exp is a month away.
  await marks(writer).token('far-jti', 30 * 86_400)
  // Not ASCII: loaded through the UTF-8 path, found by the same string.
  await marks(writer).session('séance-ü', 3600)
  const now = nowSeconds()
  await marks(writer).user('alice', now, 3600)
  await marks(writer).everyone(now - 100, 3600)
  await redis.client.config('RESETSTAT')

  const reader = await redisStore(t, redis.url)
  const { replica, checker } = replicaOn(t, reader, OPTIONS)
  t.ok(await replica.whenLoaded(10_000), 'loaded')
  const calls = totalCalls(await redis.client.info('commandstats'))
  t.ok(calls < 500, `${calls} Redis commands for ${MARKS.toLocaleString('en')} marks`)
  t.equal(replica.marks.size(nowSeconds()), MARKS + 4, 'every mark held')
  const query = (q: Partial<LookupQuery>): ReturnType<RevocationChecker['check']> =>
    checker.check({ iss: '', jti: 'x', sid: 'y', sub: 'z', iat: now, ...q })
  t.equal(await query({ jti: 'jti-0' }), 'jti')
  t.equal(await query({ jti: `jti-${MARKS - 1}` }), 'jti')
  t.equal(await query({ jti: 'far-jti' }), 'jti', 'a mark past the log retention')
  t.equal(await query({ sid: 'séance-ü' }), 'session', 'a non-ASCII id')
  t.equal(await query({ sub: 'alice' }), 'user')
  t.equal(await query({ iat: now - 200 }), 'global')
  t.equal(await query({}), 'ok', 'and nothing else')
})

t.test('a truncated or unknown index record is skipped, the rest of its bucket still loads', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const writer = await redisStore(t, redis.url)
  await marks(writer).token('before-garbage', 600)
  const [bucket] = await redis.client.keys('revoked:idx:*')
  // Kind 9 (unknown) with an id of 3 bytes, then a header that claims more bytes than there are.
  await redis.client.append(bucket, Buffer.from([9, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 3, 0x61, 0x62, 0x63]))
  await marks(writer).token('after-garbage', 600)
  await redis.client.append(bucket, Buffer.from([1, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x10, 0]))
  const reader = await redisStore(t, redis.url)
  const { replica, checker } = replicaOn(t, reader, OPTIONS)
  t.ok(await replica.whenLoaded(5000), 'loaded')
  const now = nowSeconds()
  t.equal(await checker.check({ iss: '', jti: 'before-garbage', sid: 'y', sub: 'z', iat: now }), 'jti')
  t.equal(await checker.check({ iss: '', jti: 'after-garbage', sid: 'y', sub: 'z', iat: now }), 'jti')
  t.equal(replica.marks.size(now), 2, 'nothing made up from the garbage')
})
