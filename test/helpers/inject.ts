import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { inject, type InjectOptions, type Response } from 'light-my-request'
import type { JsonResponse } from './http.js'

type Dispatch = (req: IncomingMessage, res: ServerResponse) => void

/**
 * A request through the gateway's own node:http handler, without a socket:
 * the forward-auth route (served ahead of Fastify's router, so `app.inject()`
 * never reaches it) and every Fastify route alike. The peer address is
 * light-my-request's `remoteAddress` (127.0.0.1 unless given).
 */
export async function injectServer (app: FastifyInstance, options: InjectOptions): Promise<Response> {
  await app.ready()
  const [dispatch] = app.server.listeners('request') as Dispatch[]
  return await inject(dispatch, options)
}

export interface AskOptions {
  readonly method?: string
  readonly token?: string
  readonly headers?: Record<string, string | string[]>
  /** The peer the gateway sees: a trusted proxy or not. */
  readonly remoteAddress?: string
  readonly payload?: string | Buffer
}

/** injectServer with call()'s answer: a test moves off the socket without rewriting its assertions. */
export async function ask (app: FastifyInstance, url: string, options: AskOptions = {}): Promise<JsonResponse> {
  const headers: Record<string, string | string[]> = { ...options.headers }
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
  const res = await injectServer(app, {
    url,
    method: (options.method ?? 'GET') as InjectOptions['method'],
    headers,
    ...(options.remoteAddress !== undefined && { remoteAddress: options.remoteAddress }),
    ...(options.payload !== undefined && { payload: options.payload })
  })
  const answer = new Headers()
  for (const [name, value] of Object.entries(res.headers)) {
    for (const one of Array.isArray(value) ? value : [value]) if (one !== undefined) answer.append(name, String(one))
  }
  let body: unknown = null
  try { body = res.payload === '' ? null : JSON.parse(res.payload) } catch { body = null }
  return { status: res.statusCode, headers: answer, body, text: res.payload }
}
