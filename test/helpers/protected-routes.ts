import { buildRequest, rawRequest } from './raw-http.js'
import { sign } from './tokens.js'

// Issue 16 item 1: routes an access rule protects, whose paths carry the
// characters upstreams decode (`:` `@` `$`) or fold (`k`), as each framework
// spells them, and a parameter route that echoes what the upstream decoded.

export interface Protected {
  readonly method: 'GET' | 'POST'
  readonly path: string
  /** The route as each framework declares it (the handler answers with it). */
  readonly flask: string
  readonly fastify: string
  readonly express: string
}

export const PROTECTED: readonly Protected[] = [
  { method: 'POST', path: '/v1/accounts:close', flask: 'POST /v1/accounts:close', fastify: 'POST /v1/accounts::close', express: 'POST /v1/accounts\\:close' },
  { method: 'GET', path: '/users/@me', flask: 'GET /users/@me', fastify: 'GET /users/@me', express: 'GET /users/@me' },
  { method: 'POST', path: '/odata/$batch', flask: 'POST /odata/$batch', fastify: 'POST /odata/$batch', express: 'POST /odata/$batch' },
  { method: 'GET', path: '/kyc', flask: 'GET /kyc', fastify: 'GET /kyc', express: 'GET /kyc' },
  { method: 'GET', path: '/kyc/documents', flask: 'GET /kyc/documents', fastify: 'GET /kyc/documents', express: 'GET /kyc/documents' }
]

/** A fast-check example: the protected route at `index`, spelled as `target`. */
export const spelledAs = (index: number, target: string): [{ p: Protected, target: string }] => [{ p: PROTECTED[index] as Protected, target }]

export const FILES = { flask: 'GET /files/<name>', fastify: 'GET /files/:name', express: 'GET /files/:name' } as const
export type Framework = keyof typeof FILES

export const routesFor = (framework: Framework): string[] => [...PROTECTED.map((p) => p[framework]), FILES[framework]]

export const RULES = JSON.stringify([
  { method: 'POST', path: '/v1/accounts:close', roles: ['admin'] },
  { method: 'GET', path: '/users/@me', scopes: ['profile:read'] },
  { method: 'POST', path: '/odata/$batch', scopes: ['odata:write'] },
  { method: 'GET', path: '/kyc', roles: ['kyc'] }
])

/** A valid token that no rule above lets through, and one that every rule does. */
export const weakToken = (): string => sign({ claims: { scope: 'payments:read' } })
export const strongToken = (): string => sign({ claims: { scope: 'profile:read odata:write', roles: ['admin', 'kyc'] } })

export interface Answer { readonly status: number, readonly route: string | null, readonly params: Record<string, string> }

/** Sends `target` (latin1, as on the wire) and reads which handler answered, if any did. */
export async function ask (url: string, method: string, target: string, token: string): Promise<Answer> {
  const headers: Array<[string, string]> = [['Authorization', `Bearer ${token}`]]
  const res = method === 'POST'
    ? await rawRequest(url, buildRequest(method, target, [...headers, ['Content-Type', 'application/json']], '{}'))
    : await rawRequest(url, buildRequest(method, target, headers))
  try {
    const body = JSON.parse(Buffer.from(res.body, 'latin1').toString('utf8'))
    return { status: res.status, route: typeof body.route === 'string' ? body.route : null, params: body.params ?? {} }
  } catch {
    return { status: res.status, route: null, params: {} }
  }
}
