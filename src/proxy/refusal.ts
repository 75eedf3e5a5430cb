import type { FastifyReply } from 'fastify'
import type { Failure } from '../errors.js'
import { sendFailure } from '../http/failure-reply.js'
import { hasBody } from './forward-headers.js'

/**
 * A proxied request answered by tokengate itself. When its body has not been
 * read to the end, the connection is closed after the answer (RFC 9110
 * §10.1.1 / RFC 9112 §9.6): otherwise Node would read and discard the whole
 * body, however large, to keep the connection alive for a client it refused.
 */
export function refuse (reply: FastifyReply, failure: Failure, scope?: string): FastifyReply {
  const raw = reply.request.raw
  if (!raw.complete && hasBody(raw)) reply.header('connection', 'close')
  return sendFailure(reply, failure, scope)
}
