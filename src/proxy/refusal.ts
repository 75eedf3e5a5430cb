import type { IncomingMessage } from 'node:http'
import type { FastifyReply } from 'fastify'
import type { Failure } from '../errors.js'
import { sendFailure } from '../server/failure-reply.js'
import { hasBody } from './forward-headers.js'

function declaredWithin (req: IncomingMessage, bytes: number): boolean {
  const length = req.headers['content-length']
  // Node has already refused a Content-Length that is not digits.
  return length !== undefined && Number(length) <= bytes
}

/**
 * A proxied request answered by tokengate itself. When its body has not been
 * read to the end, the connection is closed after the answer (RFC 9110
 * §10.1.1, RFC 9112 §9.6): otherwise Node would read and discard the whole
 * body, however large, for a client it refused. A body declared no larger
 * than `drainBytes` is read and discarded instead: cheap, it keeps the
 * connection, and a client that sent it at once reads the answer rather than
 * a reset.
 */
export function refuse (reply: FastifyReply, failure: Failure, scope?: string, drainBytes = 0, dpopNonce?: string): FastifyReply {
  const raw = reply.request.raw
  if (!raw.complete && hasBody(raw) && !declaredWithin(raw, drainBytes)) reply.header('connection', 'close')
  return sendFailure(reply, failure, scope, dpopNonce)
}
