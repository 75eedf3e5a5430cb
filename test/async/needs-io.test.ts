import t from 'tap'
import { afterIo, NeedsIo } from '../../src/async/needs-io.js'

t.test('the I/O of a NeedsIo starts when it is first awaited, and runs once however often it is awaited', async (t) => {
  let runs = 0
  const answer = new NeedsIo(async () => { runs++; return 'fetched' })
  t.equal(runs, 0, 'nothing starts at construction: a caller that decides otherwise costs no I/O')
  t.equal(await answer, 'fetched')
  t.equal(await answer, 'fetched')
  t.equal(runs, 1)
})

t.test('afterIo maps an answer at once when there is no I/O, and after it when there is', async (t) => {
  const now = afterIo(2, (n) => n * 10)
  t.equal(now, 20, 'a plain value is mapped synchronously: no promise, no microtask')
  const later = afterIo(new NeedsIo(async () => 2), (n) => n * 10)
  t.ok(later instanceof NeedsIo, 'an answer that needs I/O stays one')
  t.equal(await later, 20)
  const chained = afterIo(new NeedsIo(async () => 2), (n) => new NeedsIo(async () => n + 1))
  t.equal(await chained, 3, 'a step after the I/O may need I/O of its own')
})

t.test('a failure of the I/O reaches whoever awaits it', async (t) => {
  const failing = afterIo(new NeedsIo<number>(async () => { throw new Error('fetch failed') }), (n) => n)
  await t.rejects(async () => await failing, /fetch failed/)
})
