import Fastify from 'fastify'

export interface Reached {
  /** The route pattern whose handler ran (or `*` for the catch-all). */
  readonly route: string
  readonly method: string
  /** request.url exactly as the upstream received it. */
  readonly url: string
  readonly headers: Record<string, string | string[] | undefined>
}

export interface FastifyUpstream {
  readonly url: string
  readonly reached: Reached[]
}

/**
 * A real Fastify app as the API behind tokengate: its router decodes
 * percent-escapes and matches case-sensitively, as an API's would. `routes`
 * are `METHOD /path` patterns; everything else lands in a catch-all.
 * `caseSensitive: false` makes its router lower-case paths (JavaScript's
 * Unicode toLowerCase: KELVIN SIGN U+212A becomes `k`).
 */
export async function startFastifyUpstream (t: { teardown: (fn: () => unknown) => void }, routes: readonly string[], { caseSensitive = true } = {}): Promise<FastifyUpstream> {
  const app = Fastify({ exposeHeadRoutes: true, routerOptions: { caseSensitive } })
  const reached: Reached[] = []
  const record = (route: string) => async (request: { method: string, url: string, headers: Record<string, string | string[] | undefined>, params: unknown }) => {
    reached.push({ route, method: request.method, url: request.url, headers: request.headers })
    return { route, url: request.url, params: request.params }
  }
  for (const spec of routes) {
    const [method, path] = spec.split(' ')
    app.route({ method: method as 'GET', url: path, handler: record(spec) })
  }
  app.all('/*', record('*'))
  t.teardown(async () => { await app.close() })
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  return { url, reached }
}
