import { createHash, timingSafeEqual } from 'node:crypto'
import type { IntrospectionClient } from '../config/types.js'

function digest (value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

function formDecode (value: string): string | null {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '))
  } catch {
    return null
  }
}

/**
 * HTTP Basic client authentication (RFC 6749 section 2.3.1: id and secret are
 * form-encoded before base64). Secrets are compared as digests in constant time.
 * Returns the client id, or null.
 */
export function authenticateClient (header: string | undefined, clients: readonly IntrospectionClient[]): string | null {
  if (header === undefined || clients.length === 0) return null
  const match = /^Basic +([A-Za-z0-9+/]+=*) *$/i.exec(header)
  if (match === null) return null
  const decoded = Buffer.from(match[1], 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) return null
  const id = formDecode(decoded.slice(0, colon))
  const secret = formDecode(decoded.slice(colon + 1))
  if (id === null || secret === null) return null
  const presented = digest(secret)
  let found: string | null = null
  for (const client of clients) {
    // Every client is compared so the time taken does not reveal which ids exist.
    if (timingSafeEqual(digest(client.secret), presented) && client.id === id) found = client.id
  }
  return found
}
