import t from 'tap'
import { LruMap } from '../../src/cache/lru-map.js'

t.test('never holds more than its limit; the least recently used entry goes first', async (t) => {
  const map = new LruMap<string, number>(3)
  map.set('a', 1)
  map.set('b', 2)
  map.set('c', 3)
  t.equal(map.get('a'), 1, 'reading a makes it the most recent')
  map.set('d', 4)
  t.equal(map.size, 3)
  t.equal(map.get('b'), undefined, 'b was the least recently used')
  t.same([...map.entries()].map(([key]) => key), ['c', 'a', 'd'])
  for (let i = 0; i < 1000; i++) map.set(`k${i}`, i)
  t.equal(map.size, 3, 'a flood of keys stays at the limit')
})

t.test('setting an existing key replaces it without growing', async (t) => {
  const map = new LruMap<string, number>(2)
  map.set('a', 1)
  map.set('a', 2)
  t.equal(map.size, 1)
  t.equal(map.get('a'), 2)
  map.delete('a')
  t.equal(map.size, 0)
})
