import type { FastifyRequest } from 'fastify'
import type { RequestFacts } from '../security/sink.js'

/** Client address (X-Forwarded-For only from trusted proxies) and request id. */
export function factsOf (request: FastifyRequest): RequestFacts {
  return { ip: request.ip, requestId: request.id }
}
