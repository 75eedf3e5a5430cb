import t from 'tap'
import { COVERS_ALL as ALL } from '../../src/revocation/covering.js'
import { MarkTable } from '../../src/revocation/mark-table.js'

const NOW = 1_000_000

t.test('a mark is found until it expires; a miss is never a false "not revoked"', async (t) => {
  const table = new MarkTable(true, ALL, 16)
  for (let i = 0; i < 5000; i++) table.put(1, '', `jti-${i}`, 7, NOW + 10 + (i % 50), NOW)
  for (let i = 0; i < 5000; i++) if (table.before(1, '', `jti-${i}`, NOW) !== 7) throw new Error(`lost jti-${i}`)
  t.equal(table.before(2, '', 'jti-1', NOW), -1, 'the tag is part of the key')
  t.equal(table.before(1, '', 'jti-1', NOW + 11), -1, 'expired')
  t.equal(table.size(NOW), 5000)
  t.ok(table.capacity >= 5000 / 0.75, `grew by doubling to ${table.capacity} slots`)
})

t.test('the later "before" and the longer lifetime win; an expired mark does not carry over', async (t) => {
  const table = new MarkTable(true, ALL)
  table.put(3, '', 'u', 100, NOW + 60, NOW)
  table.put(3, '', 'u', 50, NOW + 120, NOW)
  t.equal(table.before(3, '', 'u', NOW + 90), 100)
  table.put(3, '', 'u', 10, NOW + 300, NOW + 200)
  t.equal(table.before(3, '', 'u', NOW + 200), 10, 'a new mark after expiry starts afresh')
})

t.test('expired slots are reused and swept: churn does not grow the table', async (t) => {
  const table = new MarkTable(true, ALL, 1024)
  let now = NOW
  for (let round = 0; round < 50; round++, now += 10) {
    for (let i = 0; i < 500; i++) table.put(1, '', `r${round}-${i}`, 1, now + 5, now)
  }
  t.ok(table.capacity <= 2048, `capacity ${table.capacity} after 25,000 short-lived marks, 500 live at a time`)
  t.equal(table.sweep(now + 100) >= 0, true)
  t.equal(table.size(now + 100), 0)
})

t.test('reserve() sizes the table once for a full load', async (t) => {
  const table = new MarkTable(true, ALL)
  table.reserve(100_000, NOW)
  const capacity = table.capacity
  for (let i = 0; i < 100_000; i++) table.put(1, '', String(i), 1, NOW + 60, NOW)
  t.equal(table.capacity, capacity, 'no growth during the load')
  t.equal(table.bytes, capacity * 16, '16 bytes a slot with a "before" column')
})

t.test('a table without a "before" column: 12 bytes a slot, every live mark covers all', async (t) => {
  const table = new MarkTable(false, ALL)
  table.reserve(1_000_000, NOW)
  t.equal(table.bytes, table.capacity * 12)
  t.ok(table.bytes <= 26 * 1024 * 1024, `${table.bytes} bytes for a million marks`)
  for (let i = 0; i < 10_000; i++) table.put(1, '', `jti-${i}`, 7, NOW + 10, NOW)
  t.equal(table.before(1, '', 'jti-42', NOW), ALL)
  t.equal(table.before(1, '', 'jti-42', NOW + 10), -1, 'expired')
})

t.test('putAscii() gives the fingerprint of the string: a loaded mark is found by its id', async (t) => {
  const table = new MarkTable(false, ALL)
  const reply = Buffer.from('xx0b6c-4b1c-9c2a~x')
  table.putAscii(2, '', reply, 2, 16, ALL, NOW + 60, NOW)
  t.equal(table.before(2, '', '0b6c-4b1c-9c2a', NOW), ALL)
  t.equal(table.before(1, '', '0b6c-4b1c-9c2a', NOW), -1, 'the tag is part of the key')
  t.equal(table.before(2, '', '0b6c-4b1c-9c2', NOW), -1)
})
