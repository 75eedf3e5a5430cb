import { createServer } from 'node:net'
import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { sign } from '../helpers/tokens.js'

// Raw bytes per path: what node:http would refuse to send as an upstream.
const ANSWERS: Record<string, string> = {
  '/status-099': 'HTTP/1.1 099 Weird\r\nContent-Length: 2\r\n\r\nok',
  '/header-name': 'HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 2\r\n\r\nok',
  '/header-value': 'HTTP/1.1 200 OK\r\nX-A: a\u0001b\r\nContent-Length: 2\r\n\r\nok',
  '/not-http': 'SSH-2.0-OpenSSH_9.6\r\n'
}

t.test('an upstream answering with malformed HTTP: 502 with a JSON body, and the gateway keeps serving', async (t) => {
  const server = createServer((socket) => {
    socket.on('error', () => {})
    socket.once('data', (head: Buffer) => { socket.end(ANSWERS[head.toString('latin1').split(' ')[1]] ?? 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok') })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const gw = await startGateway(t, { UPSTREAM_URL: `http://127.0.0.1:${port}`, UPSTREAM_TIMEOUT_MS: '2000' })
  const token = sign()
  for (const path of Object.keys(ANSWERS)) {
    const res = await call(`${gw.url}${path}`, { token })
    t.equal(res.status, 502, path)
    t.same(res.body, { error: 'bad_gateway', error_description: 'The upstream service could not be reached' }, path)
  }
  t.equal((await call(`${gw.url}/fine`, { token })).text, 'ok')
})
