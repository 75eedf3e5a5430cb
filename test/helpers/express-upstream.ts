import type { AddressInfo } from 'node:net'
import express from 'express'
import methodOverride from 'method-override'

export interface ExpressUpstream {
  readonly url: string
  readonly port: number
  /** `METHOD /path` of every handler that ran, in order. */
  readonly ran: string[]
}

/**
 * A real Express 5 API that honours method overrides the three ways
 * `method-override`'s README shows: `_method` in a urlencoded or JSON body
 * (custom getter), the X-HTTP-Method-Override header, and `_method` in the
 * query string. `routes` are `METHOD /path` handlers; everything else lands
 * in a catch-all recorded as `* /path`.
 */
export async function startExpressUpstream (t: { teardown: (fn: () => unknown) => void }, routes: readonly string[]): Promise<ExpressUpstream> {
  const app = express()
  const ran: string[] = []
  app.use(express.urlencoded({ extended: false }))
  app.use(express.json())
  app.use(methodOverride((req) => {
    const body: unknown = req.body
    // An array is honoured too: method-override takes its first value.
    if (body !== null && typeof body === 'object' && '_method' in body) return (body as { _method: string })._method
    return ''
  }))
  app.use(methodOverride('X-HTTP-Method-Override'))
  app.use(methodOverride('_method'))
  for (const spec of routes) {
    const [method, path] = spec.split(' ') as [string, string]
    app[method.toLowerCase() as 'get'](path, (_req, res) => { ran.push(spec); res.json({ ran: spec }) })
  }
  app.use((req, res) => { ran.push(`* ${req.path}`); res.status(404).json({ ran: null }) })
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  t.teardown(async () => { await new Promise((resolve) => server.close(resolve)) })
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, port, ran }
}
