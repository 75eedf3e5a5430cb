export type Headers = Record<string, string | string[] | undefined>

// RFC 9110 section 7.6.1: meaningful for one connection only, in either direction.
const HOP_BY_HOP = ['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'proxy-authorization', 'proxy-authenticate', 'proxy-connection']

/** Removes hop-by-hop headers and every header the Connection header names, in place. */
export function stripHopByHop (headers: Headers): Headers {
  const connection = headers.connection
  if (typeof connection === 'string') {
    for (const name of connection.split(',')) {
      const trimmed = name.trim().toLowerCase()
      if (trimmed !== '') delete headers[trimmed]
    }
  }
  for (const name of HOP_BY_HOP) delete headers[name]
  return headers
}
