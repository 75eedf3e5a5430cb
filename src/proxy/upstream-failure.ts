import type { FastifyReply } from 'fastify'
import { Failures, type Failure } from '../errors.js'
import { sendFailure } from '../server/failure-reply.js'

const TIMEOUT_CODES: ReadonlySet<string> = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT'])
// undici refusing what the client sent (a header or target it will not put on the wire): the client's fault.
const REFUSED_INPUT_CODES: ReadonlySet<string> = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED'])

type UpstreamError = Error & { code?: string }

export function upstreamFailure (error: UpstreamError): Failure {
  if (error.code === undefined) return Failures.UPSTREAM_UNAVAILABLE
  if (TIMEOUT_CODES.has(error.code)) return Failures.UPSTREAM_TIMEOUT
  if (REFUSED_INPUT_CODES.has(error.code)) return Failures.BAD_REQUEST
  return Failures.UPSTREAM_UNAVAILABLE
}

/** Answers a request whose upstream exchange failed before any of the response was sent. */
export function sendUpstreamFailure (reply: FastifyReply, error: UpstreamError): void {
  const failure = upstreamFailure(error)
  // Code and cause only: the URL is never logged (query strings can carry secrets).
  const details = { code: error.code, cause: (error.cause as Error | undefined)?.message ?? error.message }
  if (failure.status >= 500) reply.log.warn(details, 'upstream request failed')
  else reply.log.debug(details, 'upstream refused the request as sent')
  sendFailure(reply, failure)
}
