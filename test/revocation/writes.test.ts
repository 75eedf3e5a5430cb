import t from 'tap'
import { nowSeconds } from '../../src/revocation/store.js'
import { startRedis } from '../helpers/redis.js'
import { redisStore } from './fixtures.js'
import { marks } from './marks.js'

async function settleWithin<T> (promise: Promise<T>): Promise<{ rejected: boolean, ms: number, error: string }> {
  const started = performance.now()
  try {
    await promise
    return { rejected: false, ms: performance.now() - started, error: '' }
  } catch (err) {
    return { rejected: true, ms: performance.now() - started, error: (err as Error).message }
  }
}

t.test('writes to a dead Redis reject at once: no revocation is reported that was not stored', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const store = await redisStore(t, redis.url)
  await redis.kill()
  for (const [name, write] of [
    ['revokeToken', marks(store).token('jti-1', 60)],
    ['revokeSession', marks(store).session('sid-1', 60)],
    ['revokeUser', marks(store).user('sub-1', nowSeconds(), 60)],
    ['revokeAll', marks(store).everyone(nowSeconds(), 60)]
  ] as const) {
    const { rejected, ms } = await settleWithin<unknown>(write)
    t.ok(rejected, `${name} rejected`)
    t.ok(ms < 2100, `${name} settled in ${ms.toFixed(0)} ms`)
  }
})

t.test('writes to a Redis that stopped answering reject within the 2 s write budget', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const store = await redisStore(t, redis.url)
  await redis.client.client('PAUSE', 3000, 'WRITE')
  const [token, user] = await Promise.all([
    settleWithin(marks(store).token('jti-1', 60)),
    settleWithin(marks(store).user('sub-1', nowSeconds(), 60))
  ])
  for (const [name, result] of [['revokeToken', token], ['revokeUser', user]] as const) {
    t.ok(result.rejected, `${name} rejected (${result.error})`)
    t.ok(result.ms > 1500 && result.ms < 3000, `${name} gave up after ${result.ms.toFixed(0)} ms`)
  }
})

t.test('a full Redis (noeviction) refuses revocations, and existing marks survive', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const store = await redisStore(t, redis.url)
  t.equal(await marks(store).token('kept', 60), true)
  await redis.client.set('filler', 'x'.repeat(512 * 1024))
  // An idle Redis already uses about 1 MB: with these 512 KB on top, 1 MB of maxmemory is full.
  await redis.client.config('SET', 'maxmemory', '1mb')
  await t.rejects(redis.client.set('probe', '1'), /OOM/, 'Redis is full')
  const token = await settleWithin(marks(store).token('new', 60))
  t.ok(token.rejected, `revokeToken rejected: ${token.error}`)
  const user = await settleWithin(marks(store).user('sub-1', nowSeconds(), 60))
  t.ok(user.rejected, `revokeUser rejected: ${user.error}`)
  t.equal(await store.lookup({ iss: '', jti: 'kept', sid: 'kept', sub: 'u', iat: 1 }), 'jti', 'the mark written before is still enforced')
  t.equal(await store.lookup({ iss: '', jti: 'new', sid: 'new', sub: 'u', iat: 1 }), null, 'and nothing pretends the refused one exists')
})
