import type { IncomingMessage } from 'node:http'
import type { TLSSocket } from 'node:tls'
import { canonicalName, isForwardingHeader, isIdentityHeader, REROUTING_HEADERS } from '../decision/header-names.js'
import type { IdentityHeaders } from '../decision/identity.js'
import { HOP_BY_HOP, connectionNamed } from './hop-by-hop.js'

export type OutgoingHeaders = Record<string, string | string[]>

// Never copied from the client: hop-by-hop, Host (the upstream's), the
// X-Forwarded trio and X-Request-Id (rebuilt below), rerouting headers (the
// upstream acts on the method and path that were authorised) and Expect
// (tokengate answers 100-continue itself once the request is allowed; undici refuses to send it).
const NOT_COPIED: ReadonlySet<string> = new Set([...HOP_BY_HOP, ...REROUTING_HEADERS, 'host', 'expect',
  'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id'])

/**
 * Whether a client header is copied upstream. Identity headers never are, in
 * any spelling (`X_User_Id` is HTTP_X_USER_ID to a CGI server, exactly like
 * `X-User-Id`). Forwarding headers are copied only from a trusted peer, and
 * only in their hyphen spelling: no proxy sends `X_Forwarded_For`, so that is
 * always the client's.
 */
function copied (name: string, trusted: boolean): boolean {
  if (NOT_COPIED.has(name)) return false
  const canonical = canonicalName(name)
  if (isIdentityHeader(canonical)) return false
  if (canonical !== name) return !NOT_COPIED.has(canonical) && !isForwardingHeader(canonical)
  return trusted || !isForwardingHeader(name)
}

// RFC 7239 section 6: an IPv6 node is quoted and bracketed.
function forwardedNode (address: string): string {
  return address.includes(':') ? `"[${address}]"` : address
}

/**
 * X-Forwarded-For/-Proto/-Host as the upstream should see them. A trusted
 * peer (TRUSTED_PROXIES) speaks for the original client: its X-Forwarded-For
 * is extended with the peer and its -Proto/-Host are kept, and so is its
 * Forwarded, extended with the peer too so the two chains agree. From anyone
 * else every forwarding header has been dropped and the trio is set from the
 * connection: a client must not choose the address the API logs or rate-limits.
 */
function setForwarded (headers: OutgoingHeaders, incoming: IncomingMessage, trusted: boolean): void {
  const sent = incoming.headers
  const peer = incoming.socket.remoteAddress
  const chain = trusted ? sent['x-forwarded-for'] : undefined
  if (peer !== undefined) {
    headers['x-forwarded-for'] = chain !== undefined && chain !== '' ? `${chain}, ${peer}` : peer
    const forwarded = headers.forwarded
    if (typeof forwarded === 'string' && forwarded !== '') headers.forwarded = `${forwarded}, for=${forwardedNode(peer)}`
  }
  const proto = trusted ? sent['x-forwarded-proto'] : undefined
  headers['x-forwarded-proto'] = proto ?? ((incoming.socket as TLSSocket).encrypted === true ? 'https' : 'http')
  const host = (trusted ? sent['x-forwarded-host'] : undefined) ?? sent.host
  if (host !== undefined) headers['x-forwarded-host'] = host
}

/**
 * The headers of one upstream request, built in one object: the client's
 * end-to-end headers (Authorization included), then the upstream Host,
 * X-Forwarded-*, X-Request-Id (the id in tokengate's logs and audit records)
 * and the identity the decision built for the token when there is one.
 */
export function upstreamHeaders (incoming: IncomingMessage, identity: IdentityHeaders | null, upstreamHost: string, trusted: boolean, requestId: string): OutgoingHeaders {
  const sent = incoming.headers
  const headers: OutgoingHeaders = {}
  for (const name in sent) {
    const value = sent[name]
    if (value !== undefined && copied(name, trusted)) headers[name] = value
  }
  // Before tokengate's own headers are set: a client cannot name those away.
  for (const name of connectionNamed(sent.connection)) delete headers[name]
  headers.host = upstreamHost
  setForwarded(headers, incoming, trusted)
  headers['x-request-id'] = requestId
  if (identity !== null) Object.assign(headers, identity)
  return headers
}

/** Whether the request carries a body to stream (Node has already checked the framing). */
export function hasBody (incoming: IncomingMessage): boolean {
  const length = incoming.headers['content-length']
  return incoming.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}
