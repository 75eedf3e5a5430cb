import express from 'express'
import type { AddressInfo } from 'node:net'

export interface ExpressUpstream {
  readonly url: string
  readonly port: number
}

/**
 * A real Express 5 app: its router matches the raw (still encoded) path,
 * letter case ignored, and decodes parameters only. `routes` are
 * `METHOD /path` in Express syntax; each handler answers `{ route, path,
 * params }`, anything else lands in the catch-all `*`.
 */
export async function startExpressUpstream (t: { teardown: (fn: () => unknown) => void }, routes: readonly string[]): Promise<ExpressUpstream> {
  const app = express()
  const answer = (route: string) => (req: express.Request, res: express.Response): void => {
    res.json({ route, path: req.path, params: req.params })
  }
  for (const spec of routes) {
    const [method, path] = spec.split(' ') as [string, string]
    app[method.toLowerCase() as 'get' | 'post'](path, answer(spec))
  }
  app.use(answer('*'))
  const server = await new Promise<ReturnType<typeof app.listen>>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  const port = (server.address() as AddressInfo).port
  return { url: `http://127.0.0.1:${port}`, port }
}
