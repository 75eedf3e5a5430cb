import t from 'tap'
import { GenerationalMap } from '../../src/cache/generational-map.js'

t.test('no entry is served past its lifetime, whenever it was set', async (t) => {
  let now = 0
  const map = new GenerationalMap<number>(1000, 30_000, () => now)
  // One entry per second for two minutes; each must be gone 30 s after it was set.
  const setAt = new Map<string, number>()
  const stale: string[] = []
  let served = 0
  for (; now < 120_000; now += 1000) {
    map.set(`k${now}`, now)
    setAt.set(`k${now}`, now)
    for (const [key, at] of setAt) {
      if (map.get(key) === undefined) continue
      served++
      if (now - at >= 30_000) stale.push(`${key} served at ${now}`)
    }
  }
  t.same(stale, [], 'nothing served 30 s or more after it was set')
  t.ok(served > 120 * 15, `entries were served (${served} times)`)
})

t.test('entries live at least half their lifetime while the map is not full', async (t) => {
  let now = 0
  const map = new GenerationalMap<boolean>(1000, 30_000, () => now)
  map.set('early', true)
  now = 14_999
  map.set('late', true)
  now = 29_999
  t.equal(map.get('early'), true, 'set at the start of a generation: kept its whole lifetime')
  t.equal(map.get('late'), true, 'set at the end of a generation: kept half of it')
  now = 30_000
  t.equal(map.get('early'), undefined)
  t.equal(map.get('late'), undefined)
})

t.test('a flood of new keys never holds more than the limit', async (t) => {
  const map = new GenerationalMap<boolean>(100, 60_000, () => 0)
  let peak = 0
  for (let i = 0; i < 10_000; i++) {
    map.set(`k${i}`, true)
    peak = Math.max(peak, map.size)
  }
  t.equal(peak, 100)
  t.equal(map.get('k9999'), true, 'the newest are kept')
  t.equal(map.get('k0'), undefined, 'the oldest went')
})

t.test('a key set again moves to the young generation and is counted once', async (t) => {
  let now = 0
  const map = new GenerationalMap<string>(10, 10_000, () => now)
  map.set('a', '10.0.0.1')
  now = 5_000
  map.set('a', '10.0.0.2')
  t.equal(map.size, 1)
  now = 12_000
  t.equal(map.get('a'), '10.0.0.2', 'the later value, kept from when it was set again')
  map.delete('a')
  t.equal(map.get('a'), undefined)
  map.set('b', 'x')
  map.clear()
  t.equal(map.size, 0)
})

t.test('a long pause drops both generations', async (t) => {
  let now = 0
  const map = new GenerationalMap<boolean>(10, 10_000, () => now)
  map.set('a', true)
  now = 60_000
  t.equal(map.get('a'), undefined)
  map.set('b', true)
  now = 69_999
  t.equal(map.get('b'), true)
  now = 70_000
  t.equal(map.get('b'), undefined)
})
