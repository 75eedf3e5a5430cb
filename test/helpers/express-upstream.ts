import type { AddressInfo } from 'node:net'
import express from 'express'
import methodOverride from 'method-override'

export interface ExpressUpstream {
  readonly url: string
  readonly port: number
  /** `METHOD /path` of every handler that ran, in order; the catch-all records `* /path`. */
  readonly ran: string[]
}

/**
 * A real Express 5 API. Its router matches the raw (still encoded) path,
 * letter case ignored, and decodes parameters only. It honours method
 * overrides the three ways `method-override`'s README shows: `_method` in a
 * urlencoded or JSON body (custom getter), the X-HTTP-Method-Override header,
 * and `_method` in the query string. `routes` are `METHOD /path` in Express
 * syntax; each handler answers `{ route, path, params }`, anything else lands
 * in the catch-all `*`.
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
  const answer = (route: string) => (req: express.Request, res: express.Response): void => {
    ran.push(route === '*' ? `* ${req.path}` : route)
    res.json({ route, path: req.path, params: req.params })
  }
  for (const spec of routes) {
    const [method, path] = spec.split(' ') as [string, string]
    app[method.toLowerCase() as 'get'](path, answer(spec))
  }
  app.use(answer('*'))
  const server = await new Promise<ReturnType<typeof app.listen>>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, port, ran }
}
