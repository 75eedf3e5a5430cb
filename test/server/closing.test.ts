import { once } from 'node:events'
import { connect } from 'node:net'
import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { sign } from '../helpers/tokens.js'
import { startUpstream } from '../helpers/upstream.js'

t.test('a request arriving on an open connection while the gateway drains gets its 503 in the OAuth format, and the connection ends', async (t) => {
  const upstream = await startUpstream(t)
  let reachedUpstream: () => void = () => {}
  const reached = new Promise<void>((resolve) => { reachedUpstream = resolve })
  upstream.handle((_req, res) => {
    reachedUpstream()
    setTimeout(() => res.end('done'), 300)
  })
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url })
  const { port } = new URL(gw.url)
  const socket = connect(Number(port), '127.0.0.1')
  await once(socket, 'connect')
  let received = ''
  socket.on('data', (chunk: Buffer) => { received += chunk.toString('latin1') })
  const closed = once(socket, 'close')
  const token = sign()
  socket.write(`GET /api/slow HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${token}\r\n\r\n`)
  await reached

  const closing = gw.app.close()
  // The connection is busy (its first request is in flight), so the drain keeps it open for a second one.
  for (const path of ['/auth/verify', '/api/other']) {
    socket.write(`GET ${path} HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${token}\r\n\r\n`)
  }
  await closed
  await closing

  const answers = received.split(/(?=HTTP\/1\.1 )/)
  t.match(answers[0], /^HTTP\/1\.1 200 /, 'the request in flight finished')
  t.match(answers[0], /\r\n\r\ndone$/)
  t.match(answers[1], /^HTTP\/1\.1 503 /)
  t.match(answers[1], /\r\nconnection: close\r\n/i)
  t.match(answers[1], /\r\nretry-after: 1\r\n/i)
  t.same(JSON.parse(answers[1].slice(answers[1].indexOf('\r\n\r\n') + 4)), { error: 'temporarily_unavailable', error_description: 'This gateway instance is shutting down; retry' })
  t.equal(answers.length, 2, 'nothing is answered after the connection-closing 503')
})
