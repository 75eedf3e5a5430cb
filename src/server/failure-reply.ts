import { STATUS_CODES, type OutgoingHttpHeaders, type ServerResponse } from 'node:http'
import type { FastifyReply } from 'fastify'
import { Failures, type Failure } from '../errors.js'

const RETRY_AFTER_S = '1'

declare module 'fastify' {
  interface FastifyInstance {
    /** What this gateway's Bearer challenges end with (resourceMetadataChallenge); '' for nothing. */
    tokengateChallengeSuffix: string
  }
}

/**
 * RFC 9728 §5.1: the end of every Bearer challenge naming the protected resource
 * metadata (RESOURCE_URL), or '' without one. A URL (serialised by URL) holds no
 * `"` or `\`, so it fits a quoted-string as it is. Each gateway has its own
 * (decorated on its Fastify instance, passed to forward-auth), so two gateways
 * in one process answer each with its own.
 */
export function resourceMetadataChallenge (url: string | null): string {
  return url === null ? '' : `, resource_metadata="${url}"`
}

const DPOP_CHALLENGE = ', DPoP '

/**
 * RFC 9449 §7.1: with DPoP accepted, every challenge also offers the DPoP scheme and its
 * algorithms, after the Bearer challenge (RFC 9110 §11.6.1: several challenges in one header).
 * Appended to the gateway's challenge suffix; '' when DPoP is off.
 */
export function dpopChallenge (algorithms: readonly string[] | null): string {
  return algorithms === null ? '' : `${DPOP_CHALLENGE}algs="${algorithms.join(' ')}"`
}

/**
 * A refusal about the proof itself (invalid_dpop_proof, use_dpop_nonce) is a DPoP challenge
 * carrying the error (RFC 9449 §7.1, §9), with the algorithms; the suffix's resource metadata
 * stays in it.
 */
function dpopRefusal (failure: Failure, suffix: string): string {
  const at = suffix.indexOf(DPOP_CHALLENGE)
  const metadata = at === -1 ? suffix : suffix.slice(0, at)
  const algs = at === -1 ? '' : `, ${suffix.slice(at + DPOP_CHALLENGE.length)}`
  return `DPoP realm="tokengate", error="${failure.error}", error_description="${failure.description}"${algs}${metadata}`
}

/**
 * RFC 6750 section 3: the challenge names the error for invalid and
 * insufficient tokens, and carries none when no credentials were sent.
 */
function challenge (failure: Failure, scope: string | undefined, suffix: string): string | null {
  if (failure.error === 'invalid_dpop_proof' || failure.error === 'use_dpop_nonce') return dpopRefusal(failure, suffix)
  if (failure === Failures.TOKEN_MISSING) return `Bearer realm="tokengate"${suffix}`
  if (failure.error === 'invalid_token' || failure.error === 'invalid_request') {
    return `Bearer realm="tokengate", error="${failure.error}", error_description="${failure.description}"${suffix}`
  }
  if (failure.error === 'insufficient_scope') {
    const scopePart = scope !== undefined && scope !== '' ? `, scope="${scope}"` : ''
    return `Bearer realm="tokengate", error="insufficient_scope"${scopePart}${suffix}`
  }
  // RFC 6749 section 5.2 asks for the scheme the client used; the error goes in the challenge as RFC 6750 section 3 does for Bearer.
  if (failure.error === 'invalid_client') return `Basic realm="tokengate", error="invalid_client", error_description="${failure.description}"`
  return null
}

/** The headers of a refusal: the RFC 6750 challenge, Retry-After on 503, never cached. */
function failureHeaders (failure: Failure, scope: string | undefined, suffix: string): Readonly<Record<string, string>> {
  const headers: Record<string, string> = { 'cache-control': 'no-store' }
  const header = challenge(failure, scope, suffix)
  if (header !== null) headers['www-authenticate'] = header
  if (failure.status === 503) headers['retry-after'] = RETRY_AFTER_S
  return Object.freeze(headers)
}

/** The OAuth-style error body; the description is ours, never request data. */
function failureBody (failure: Failure): { error: string, error_description: string } {
  return { error: failure.error, error_description: failure.description }
}

interface Refusal {
  /** For a Fastify reply, which serialises the body itself. */
  readonly headers: Readonly<Record<string, string>>
  /** For a bare node:http response: the same with the body's type and length. */
  readonly rawHeaders: OutgoingHttpHeaders
  readonly body: string
}

// Every refusal's answer is built once per failure and scope: failures are a
// fixed registry (described copies weakly held) and scopes come from
// ACCESS_RULES_FILE and route roles, a bounded set (capped all the same).
const MAX_SCOPES_PER_FAILURE = 64
// By challenge suffix first: one per gateway in the process (almost always one).
const refusals = new Map<string, WeakMap<Failure, Map<string | undefined, Refusal>>>()

function refusalOf (failure: Failure, scope: string | undefined, suffix: string): Refusal {
  let byFailure = refusals.get(suffix)
  if (byFailure === undefined) {
    byFailure = new WeakMap()
    refusals.set(suffix, byFailure)
  }
  let byScope = byFailure.get(failure)
  if (byScope === undefined) {
    byScope = new Map()
    byFailure.set(failure, byScope)
  }
  let refusal = byScope.get(scope)
  if (refusal === undefined) {
    const headers = failureHeaders(failure, scope, suffix)
    const body = JSON.stringify(failureBody(failure))
    const rawHeaders = Object.freeze({ ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) })
    refusal = Object.freeze({ headers, rawHeaders, body })
    if (byScope.size < MAX_SCOPES_PER_FAILURE) byScope.set(scope, refusal)
  }
  return refusal
}

export function sendFailure (reply: FastifyReply, failure: Failure, scope?: string, dpopNonce?: string): FastifyReply {
  if (dpopNonce !== undefined) reply.header('dpop-nonce', dpopNonce)
  return reply.code(failure.status).headers(refusalOf(failure, scope, reply.server.tokengateChallengeSuffix ?? '').headers).send(failureBody(failure))
}

/** The same answer as a complete HTTP/1.1 message that closes the connection, for a socket no request exists on yet. */
export function rawFailure (failure: Failure): string {
  const { rawHeaders, body } = refusalOf(failure, undefined, '')
  const lines = Object.entries({ ...rawHeaders, connection: 'close' }).map(([name, value]) => `${name}: ${String(value)}\r\n`)
  return `HTTP/1.1 ${failure.status} ${STATUS_CODES[failure.status] ?? ''}\r\n${lines.join('')}\r\n${body}`
}

/**
 * The same answer as sendFailure, written on a bare node:http response (the fast route server); `suffix` as
 * resourceMetadataChallenge (and dpopChallenge) give it; `dpopNonce`: the DPoP-Nonce of a use_dpop_nonce refusal.
 */
export function writeFailure (res: ServerResponse, failure: Failure, scope?: string, suffix = '', requestId?: string, dpopNonce?: string): void {
  const { rawHeaders, body } = refusalOf(failure, scope, suffix)
  const headers = requestId === undefined ? rawHeaders : { ...rawHeaders, 'x-request-id': requestId }
  res.writeHead(failure.status, dpopNonce === undefined ? headers : { ...headers, 'dpop-nonce': dpopNonce }).end(body)
}
