import { STATUS_CODES, type OutgoingHttpHeaders, type ServerResponse } from 'node:http'
import type { FastifyReply } from 'fastify'
import { Failures, type Failure } from '../errors.js'

const RETRY_AFTER_S = '1'

/**
 * RFC 6750 section 3: the challenge names the error for invalid and
 * insufficient tokens, and carries none when no credentials were sent.
 */
function challenge (failure: Failure, scope: string | undefined): string | null {
  if (failure === Failures.TOKEN_MISSING) return 'Bearer realm="tokengate"'
  if (failure.error === 'invalid_token' || failure.error === 'invalid_request') {
    return `Bearer realm="tokengate", error="${failure.error}", error_description="${failure.description}"`
  }
  if (failure.error === 'insufficient_scope') {
    const scopePart = scope !== undefined && scope !== '' ? `, scope="${scope}"` : ''
    return `Bearer realm="tokengate", error="insufficient_scope"${scopePart}`
  }
  // RFC 6749 section 5.2 asks for the scheme the client used; the error goes in the challenge as RFC 6750 section 3 does for Bearer.
  if (failure.error === 'invalid_client') return `Basic realm="tokengate", error="invalid_client", error_description="${failure.description}"`
  return null
}

/** The headers of a refusal: the RFC 6750 challenge, Retry-After on 503, never cached. */
function failureHeaders (failure: Failure, scope?: string): Record<string, string> {
  const headers: Record<string, string> = { 'cache-control': 'no-store' }
  const header = challenge(failure, scope)
  if (header !== null) headers['www-authenticate'] = header
  if (failure.status === 503) headers['retry-after'] = RETRY_AFTER_S
  return headers
}

/** The OAuth-style error body; the description is ours, never request data. */
function failureBody (failure: Failure): { error: string, error_description: string } {
  return { error: failure.error, error_description: failure.description }
}

export function sendFailure (reply: FastifyReply, failure: Failure, scope?: string): FastifyReply {
  return reply.code(failure.status).headers(failureHeaders(failure, scope)).send(failureBody(failure))
}

interface Refusal { readonly headers: OutgoingHttpHeaders, readonly body: string }

// Failures are a fixed registry: each one's raw answer is built once (a scope makes it particular).
const refusals = new WeakMap<Failure, Refusal>()

function refusalOf (failure: Failure, scope: string | undefined): Refusal {
  let refusal = scope === undefined ? refusals.get(failure) : undefined
  if (refusal === undefined) {
    const body = JSON.stringify(failureBody(failure))
    const headers = { ...failureHeaders(failure, scope), 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) }
    refusal = Object.freeze({ headers: Object.freeze(headers), body })
    if (scope === undefined) refusals.set(failure, refusal)
  }
  return refusal
}

/** The same answer as a complete HTTP/1.1 message that closes the connection, for a socket no request exists on yet. */
export function rawFailure (failure: Failure): string {
  const { headers, body } = refusalOf(failure, undefined)
  const lines = Object.entries({ ...headers, connection: 'close' }).map(([name, value]) => `${name}: ${String(value)}\r\n`)
  return `HTTP/1.1 ${failure.status} ${STATUS_CODES[failure.status] ?? ''}\r\n${lines.join('')}\r\n${body}`
}

/** The same answer as sendFailure, written on a bare node:http response (the fast route server). */
export function writeFailure (res: ServerResponse, failure: Failure, scope?: string): void {
  const { headers, body } = refusalOf(failure, scope)
  res.writeHead(failure.status, headers).end(body)
}
