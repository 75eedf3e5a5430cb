import type { IncomingMessage } from 'node:http'
import type { TLSSocket } from 'node:tls'
import { IDENTITY_HEADERS, identityHeaders } from '../http/identity.js'
import type { Claims } from '../tokens/claims.js'
import { HOP_BY_HOP, connectionNamed } from './hop-by-hop.js'

export type OutgoingHeaders = Record<string, string | string[]>

// Never copied from the client: hop-by-hop, identity (set from the token
// only), Host (the upstream's), X-Forwarded-* (rebuilt below) and Expect
// (Node has already answered 100-continue; undici refuses to send it).
const NOT_COPIED: ReadonlySet<string> = new Set([...HOP_BY_HOP, ...IDENTITY_HEADERS, 'host', 'expect',
  'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host'])

/**
 * X-Forwarded-For/-Proto/-Host as the upstream should see them. A trusted
 * peer (TRUSTED_PROXIES) speaks for the original client: its X-Forwarded-For
 * is extended with the peer and its -Proto/-Host are kept. From anyone else
 * they are replaced: a client must not choose the address the API logs or
 * rate-limits.
 */
function setForwarded (headers: OutgoingHeaders, incoming: IncomingMessage, trusted: boolean): void {
  const sent = incoming.headers
  const peer = incoming.socket.remoteAddress
  const chain = trusted ? sent['x-forwarded-for'] : undefined
  if (peer !== undefined) headers['x-forwarded-for'] = chain !== undefined && chain !== '' ? `${chain}, ${peer}` : peer
  const proto = trusted ? sent['x-forwarded-proto'] : undefined
  headers['x-forwarded-proto'] = proto ?? ((incoming.socket as TLSSocket).encrypted === true ? 'https' : 'http')
  const host = (trusted ? sent['x-forwarded-host'] : undefined) ?? sent.host
  if (host !== undefined) headers['x-forwarded-host'] = host
}

/**
 * The headers of one upstream request, built in one object: the client's
 * end-to-end headers (Authorization included), then the upstream Host,
 * X-Forwarded-*, and the identity from the token when there is one.
 */
export function upstreamHeaders (incoming: IncomingMessage, claims: Claims | undefined, upstreamHost: string, trusted: boolean): OutgoingHeaders {
  const sent = incoming.headers
  const headers: OutgoingHeaders = {}
  for (const name in sent) {
    const value = sent[name]
    if (value !== undefined && !NOT_COPIED.has(name)) headers[name] = value
  }
  // Before tokengate's own headers are set: a client cannot name those away.
  for (const name of connectionNamed(sent.connection)) delete headers[name]
  headers.host = upstreamHost
  setForwarded(headers, incoming, trusted)
  if (claims !== undefined) identityHeaders(claims, headers)
  return headers
}

/** Whether the request carries a body to stream (Node has already checked the framing). */
export function hasBody (incoming: IncomingMessage): boolean {
  const length = incoming.headers['content-length']
  return incoming.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}
