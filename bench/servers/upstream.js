// The API behind every proxy: plain node:http answering a small JSON body.
import { createServer } from 'node:http'

const BODY = Buffer.from('{"ok":true,"items":[1,2,3]}')
const server = createServer((_request, response) => {
  response.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length })
  response.end(BODY)
})
// Proxies hold keep-alive connections for longer than Node's 5 s default.
server.keepAliveTimeout = 65_000
server.listen(Number(process.env.PORT), '127.0.0.1')
process.on('SIGTERM', () => { server.closeAllConnections(); server.close(() => process.exit(0)) })
