import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'

export interface SeenRequest {
  readonly method: string
  readonly url: string
  readonly headers: IncomingHttpHeaders
  readonly bodyBytes: number
}

export interface Upstream {
  readonly url: string
  readonly port: number
  readonly seen: SeenRequest[]
  /** Replaces the default handler (echo of method, url and headers as JSON). */
  handle: (handler: ((req: IncomingMessage, res: ServerResponse) => void) | null) => void
  close: () => Promise<void>
}

/** A real HTTP upstream on a free loopback port that records what reaches it. */
export async function startUpstream (t: { teardown: (fn: () => unknown) => void }, port = 0): Promise<Upstream> {
  const seen: SeenRequest[] = []
  let custom: ((req: IncomingMessage, res: ServerResponse) => void) | null = null
  const server = createServer((req, res) => {
    if (custom !== null) { custom(req, res); return }
    let bodyBytes = 0
    req.on('data', (chunk: Buffer) => { bodyBytes += chunk.length })
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyBytes })
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, bodyBytes }))
    })
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  const address = server.address()
  const bound = typeof address === 'object' && address !== null ? address.port : 0
  const close = async (): Promise<void> => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
  t.teardown(close)
  return { url: `http://127.0.0.1:${bound}`, port: bound, seen, handle: (h) => { custom = h }, close }
}
