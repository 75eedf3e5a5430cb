import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import t from 'tap'
import { within } from '../../src/async/within.js'
import { startRedis } from '../helpers/redis.js'

/** A socket to a real redis-server (another process: it answers while this one is busy). */
async function redisSocket (t: { teardown: (fn: () => unknown) => void }): Promise<Socket> {
  const redis = await startRedis()
  const socket = connect(redis.port, '127.0.0.1')
  await once(socket, 'connect')
  t.teardown(async () => { socket.destroy(); await redis.stop() })
  return socket
}

function busyFor (ms: number): void {
  const end = performance.now() + ms
  while (performance.now() < end) { /* the event loop is held, as by a saturated gateway */ }
}

t.test('an answer that arrived while the event loop was busy past the budget is the answer, not the fallback', async (t) => {
  const socket = await redisSocket(t)
  const reply = once(socket, 'data').then(([data]) => String(data))
  socket.write('PING\r\n')
  const answer = within(reply, 20, 'late')
  // Redis answers within a millisecond, while this loop is held for 100 ms (a saturated gateway,
  // a long GC): the timer and the reply are both due when it runs again.
  busyFor(100)
  t.equal(await answer, '+PONG\r\n')
})

t.test('work that does not answer within the budget resolves to the fallback, not before; a rejection at once; an answer in time is the answer', async (t) => {
  const started = performance.now()
  t.equal(await within(new Promise<string>(() => {}), 30, 'late'), 'late')
  t.ok(performance.now() - started >= 29, 'not before the budget')
  t.equal(await within(Promise.reject(new Error('down')), 1000, 'failed'), 'failed', 'a rejection is the fallback at once')
  t.equal(await within(Promise.resolve('fast'), 1000, 'late'), 'fast')
})
