import { createServer, type Server } from 'node:http'
import type { Socket } from 'node:net'
import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { sign } from '../helpers/tokens.js'
import { until } from '../helpers/until.js'

async function listen (server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  return typeof address === 'object' && address !== null ? address.port : 0
}

t.test('closing the gateway closes its pooled upstream connections', async (t) => {
  const open = new Set<Socket>()
  const server = createServer((_req, res) => { res.end('ok') })
  server.keepAliveTimeout = 60_000
  server.on('connection', (socket: Socket) => { open.add(socket); socket.on('close', () => open.delete(socket)) })
  const port = await listen(server)
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const gw = await startGateway(t, { UPSTREAM_URL: `http://127.0.0.1:${port}` })
  t.equal((await call(`${gw.url}/x`, { token: sign() })).status, 200)
  t.equal(open.size, 1, 'one pooled keep-alive connection')
  await gw.app.close()
  await until(() => open.size === 0, 2000, 20)
  t.equal(open.size, 0, 'closed with the gateway, not left to the keep-alive timeout')
})
