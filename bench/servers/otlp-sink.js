// An OTLP/HTTP endpoint that accepts every export and discards it: the collector behind the
// tracing scenarios, so that their figures are tokengate's cost of tracing, not a collector's.
import { createServer } from 'node:http'

const server = createServer((request, response) => {
  request.resume()
  // An empty ExportTraceServiceResponse is zero bytes of protobuf.
  request.on('end', () => response.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': 0 }).end())
})
server.keepAliveTimeout = 65_000
server.listen(Number(process.env.PORT), '127.0.0.1')
process.on('SIGTERM', () => { server.closeAllConnections(); server.close(() => process.exit(0)) })
