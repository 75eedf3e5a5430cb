import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { inject, type InjectOptions, type Response } from 'light-my-request'

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
