import type { FastifyReply } from 'fastify'
import type { Failure } from '../errors.js'

const RETRY_AFTER_S = '1'

/**
 * RFC 6750 section 3: the challenge names the error for invalid and
 * insufficient tokens, and carries none when no credentials were sent.
 */
function challenge (failure: Failure, scope: string | undefined): string | null {
  if (failure.status === 401 && failure.code === 'TG_ERR_TOKEN_MISSING') return 'Bearer realm="tokengate"'
  if (failure.error === 'invalid_token' || failure.error === 'invalid_request') {
    return `Bearer realm="tokengate", error="${failure.error}", error_description="${failure.description}"`
  }
  if (failure.error === 'insufficient_scope') {
    const scopePart = scope !== undefined && scope !== '' ? `, scope="${scope}"` : ''
    return `Bearer realm="tokengate", error="insufficient_scope"${scopePart}`
  }
  if (failure.error === 'invalid_client') return 'Basic realm="tokengate"'
  return null
}

/** Sends an OAuth-style error body; the description is ours, never request data. */
export function sendFailure (reply: FastifyReply, failure: Failure, scope?: string): FastifyReply {
  const header = challenge(failure, scope)
  if (header !== null) reply.header('www-authenticate', header)
  if (failure.status === 503) reply.header('retry-after', RETRY_AFTER_S)
  reply.header('cache-control', 'no-store')
  return reply.code(failure.status).send({ error: failure.error, error_description: failure.description })
}
