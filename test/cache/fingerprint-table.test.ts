import t from 'tap'
import fc from 'fast-check'
import { FingerprintTable } from '../../src/cache/fingerprint-table.js'

t.test('no entry is served past its lifetime, whenever it was set', async (t) => {
  let now = 0
  const table = new FingerprintTable(1000, 30_000, () => now)
  const setAt = new Map<string, number>()
  const stale: string[] = []
  let served = 0
  for (; now < 120_000; now += 700) {
    table.set(`k${now}`, now % 1000)
    setAt.set(`k${now}`, now)
    for (const [key, at] of setAt) {
      if (table.get(key) === -1) continue
      served++
      if (now - at >= 30_000) stale.push(`${key} served at ${now}`)
    }
  }
  t.same(stale, [], 'nothing served 30 s or more after it was set')
  t.ok(served > 170 * 20, `entries were served (${served} times)`)
})

t.test('an entry keeps its value for its lifetime, less at most a second', async (t) => {
  let now = 500
  const table = new FingerprintTable(1000, 30_000, () => now)
  table.set('a', 7)
  now = 29_999
  t.equal(table.get('a'), 7)
  table.set('a', 8)
  t.equal(table.get('a'), 8, 'a store replaces the value and restarts the lifetime')
  now = 59_999
  t.equal(table.get('a'), -1)
  t.equal(table.get('b'), -1, 'an unknown key')
})

t.test('a flood of new keys never holds more than the limit, and the newest are kept', async (t) => {
  fc.assert(fc.property(fc.integer({ min: 4, max: 2000 }), fc.integer({ min: 1, max: 20_000 }), (max, n) => {
    const table = new FingerprintTable(max, 60_000, () => 0)
    const bytes = table.bytes
    for (let i = 0; i < n; i++) table.set(`jti-${i}`, i)
    if (table.size > max || table.bytes !== bytes) return false
    // The last key stored is always found, with its value.
    return table.get(`jti-${n - 1}`) === n - 1
  }), { numRuns: 50 })
  const table = new FingerprintTable(1000, 60_000, () => 0)
  for (let i = 0; i < 10_000; i++) table.set(`jti-${i}`, 1)
  t.ok(table.size > 900, `a full table uses its slots (${table.size} of 1000)`)
})

t.test('values are whole 32-bit numbers; distinct keys keep distinct values', async () => {
  fc.assert(fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 40 }), { maxLength: 64 }), (keys) => {
    const table = new FingerprintTable(4096, 60_000, () => 0)
    keys.forEach((key, i) => { table.set(key, 0xffff_ff00 + (i % 256)) })
    return keys.every((key, i) => table.get(key) === 0xffff_ff00 + (i % 256))
  }), { numRuns: 50 })
})
