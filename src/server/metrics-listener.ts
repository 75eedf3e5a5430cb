import { createServer, type Server } from 'node:http'
import { Failures } from '../errors.js'
import { writeFailure } from './failure-reply.js'

/** The Prometheus text exposition format. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

export type MetricsText = () => Promise<string>

/** A bare HTTP listener that answers GET and HEAD /metrics only (METRICS_PORT). */
export async function listenMetricsServer (text: MetricsText, port: number, host: string): Promise<Server> {
  const server = createServer((req, res) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || (req.url ?? '').split('?')[0] !== '/metrics') {
      writeFailure(res, Failures.NOT_FOUND)
      return
    }
    text().then(
      // HEAD: the same headers, no body (node:http leaves the body out of a HEAD answer).
      (body) => res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'content-length': Buffer.byteLength(body) }).end(req.method === 'HEAD' ? undefined : body),
      () => { writeFailure(res, Failures.INTERNAL) }
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolve() })
  })
  return server
}

export async function closeMetricsServer (server: Server): Promise<void> {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
}
