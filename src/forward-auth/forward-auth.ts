import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyBaseLogger } from 'fastify'
import proxyAddr from 'proxy-addr'
import { NeedsIo } from '../async/needs-io.js'
import { Failures, isFailure, type Failure } from '../errors.js'
import type { Authorization, AuthorizationRequest, Authorizer } from '../decision/authorize.js'
import { writeFailure } from '../server/failure-reply.js'
import type { RefusalReport } from '../server/refusal-report.js'
import { pathOf } from '../decision/paths.js'
import type { FastRoute } from '../server/fast-route-server.js'
import { ambiguousHeader } from '../decision/header-names.js'
import { ANONYMOUS_ALLOW_ANSWER } from '../decision/identity.js'
import { requestIdOf } from '../server/request-ids.js'
import { originalRequest } from '../decision/original-request.js'
import type { TrustedProxies } from '../decision/trusted-proxies.js'

const QUERY = 63 // '?'
// The original request's body never reaches tokengate: any POST may carry `_method` in it.
const ORIGINAL_BODY_UNSEEN = true

/** The request as the decision and the security monitor see it; the client address and id are worked out only if read. */
class ForwardAuthRequest implements AuthorizationRequest {
  readonly headers: IncomingHttpHeaders
  readonly #raw: IncomingMessage
  readonly #trust: (address: string, hop: number) => boolean
  readonly #trusted: boolean
  #ip: string | undefined
  #id: string | undefined

  constructor (raw: IncomingMessage, trust: (address: string, hop: number) => boolean, trusted: boolean) {
    this.#raw = raw
    this.headers = raw.headers
    this.#trust = trust
    this.#trusted = trusted
  }

  /** The client address as Fastify's request.ip has it: X-Forwarded-For only from TRUSTED_PROXIES. */
  get ip (): string {
    // Without X-Forwarded-For proxy-addr's answer is the peer itself: skip its walk.
    this.#ip ??= this.headers['x-forwarded-for'] === undefined ? this.#raw.socket.remoteAddress ?? '' : proxyAddr(this.#raw, this.#trust)
    return this.#ip
  }

  /** The connection: tracing and a DPoP proof's target believe a trusted proxy only (dpop-check.ts). */
  get socket (): Socket {
    return this.#raw.socket
  }

  get id (): string {
    this.#id ??= requestIdOf(this.headers['x-request-id'], this.#trusted)
    return this.#id
  }
}

/**
 * ANY {AUTH_PREFIX}/verify for nginx auth_request and Traefik ForwardAuth,
 * served from node:http ahead of Fastify (see fast-route-server.ts). The
 * decision never reads a body: nginx passes the original Content-Type without
 * the body, and Node discards whatever a client sends.
 */
export interface ForwardAuthOptions {
  readonly authorize: Authorizer
  readonly trustedProxies: TrustedProxies
  readonly authPrefix: string
  readonly log: FastifyBaseLogger
  /** Public paths or access rules are set (asked per request: a reload may add the first): a trusted proxy's request without the original URI cannot be decided. */
  readonly originalUriRequired: () => boolean
  readonly refusals: RefusalReport
  /** What this gateway's Bearer challenges end with (resourceMetadataChallenge in failure-reply.ts). */
  readonly challengeSuffix: string
}

export function createForwardAuth ({ authorize, trustedProxies, authPrefix, log, originalUriRequired, refusals, challengeSuffix }: ForwardAuthOptions): FastRoute {
  const path = `${authPrefix}/verify`
  const trust = trustedProxies.address
  // A proxy missing from TRUSTED_PROXIES silently loses public paths and access
  // rules: say so once, without the header values.
  let warnedUntrusted = false

  function answer (res: ServerResponse, decision: Authorization, requestId: string): void {
    if (decision.kind === 'denied') {
      writeFailure(res, decision.failure, decision.scope, challengeSuffix, requestId, decision.dpopNonce)
      return
    }
    // The token's own answer object with this request's id written in: writeHead serialises it
    // at once, so no other request sees the id (identity.ts keeps the key in every answer).
    const headers = decision.kind === 'allowed' ? decision.identity.allowAnswer : { ...ANONYMOUS_ALLOW_ANSWER }
    headers['x-request-id'] = requestId
    // A copy: the token's answer object is shared by its later requests (RFC 9449 §8.2, docs/dpop.md).
    if (decision.kind === 'allowed' && decision.dpopNonce !== undefined) res.writeHead(200, { ...headers, 'dpop-nonce': decision.dpopNonce }).end()
    else res.writeHead(200, headers).end()
  }

  function handle (req: IncomingMessage, res: ServerResponse): void {
    const trusted = trustedProxies.peer(req.socket)
    const { headers } = req
    // Every answer names its request: the trusted proxy's id, echoed, or tokengate's own.
    const request = new ForwardAuthRequest(req, trust, trusted)
    if (!trusted && !warnedUntrusted && (headers['x-forwarded-uri'] !== undefined || headers['x-original-uri'] !== undefined)) {
      warnedUntrusted = true
      log.warn({ peer: req.socket.remoteAddress }, 'X-Forwarded-Uri/X-Original-URI from a peer outside TRUSTED_PROXIES ignored: public paths and access rules do not apply to its requests')
    }
    // The proxy passes the client's headers on to the upstream as they are: refuse what tokengate cannot strip.
    if (ambiguousHeader(headers) !== null) {
      refusedEarly(request, res, trusted, Failures.HEADER_AMBIGUOUS)
      return
    }
    const original = originalRequest(headers, trusted)
    if (isFailure(original)) {
      refusedEarly(request, res, trusted, original)
      return
    }
    // Decided without it, the request would skip every public path and rule, silently.
    if (original === null && trusted && originalUriRequired()) {
      refusedEarly(request, res, trusted, Failures.ORIGINAL_URI_MISSING)
      return
    }
    let decision
    try {
      decision = authorize(request, original?.method ?? req.method ?? 'GET', original?.path ?? null, ORIGINAL_BODY_UNSEEN)
    } catch (err) {
      failed(res, err, request.id)
      return
    }
    if (decision instanceof NeedsIo) decision.then((decided) => { answer(res, decided, request.id) }, (err: unknown) => { failed(res, err, request.id) })
    else answer(res, decision, request.id)
  }

  // Counted and logged (rate-limited): a scanner probing spellings through the proxy shows.
  function refusedEarly (request: ForwardAuthRequest, res: ServerResponse, trusted: boolean, failure: Failure): void {
    const uri = trusted ? request.headers['x-original-uri'] ?? request.headers['x-forwarded-uri'] : undefined
    const path = typeof uri === 'string' ? pathOf(uri) : ''
    refusals.refused('forward_auth', failure, { ip: request.ip, path })
    writeFailure(res, failure, undefined, challengeSuffix, request.id)
  }

  function failed (res: ServerResponse, err: unknown, requestId: string): void {
    log.error({ err }, 'forward-auth decision failed')
    writeFailure(res, Failures.INTERNAL, undefined, challengeSuffix, requestId)
  }

  return {
    matches: (url) => url !== undefined && url.startsWith(path) && (url.length === path.length || url.charCodeAt(path.length) === QUERY),
    handle
  }
}
