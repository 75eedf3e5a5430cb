export type Headers = Record<string, string | string[] | undefined>

// RFC 9110 section 7.6.1: meaningful for one connection only, in either direction.
export const HOP_BY_HOP: readonly string[] = ['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'proxy-authorization', 'proxy-authenticate', 'proxy-connection']

/**
 * Header names a Connection header lists, lower-cased; none for the common
 * `keep-alive` / `close`, which name nothing beyond the hop-by-hop set.
 */
export function connectionNamed (connection: string | string[] | undefined): readonly string[] {
  if (typeof connection !== 'string' || connection === 'keep-alive' || connection === 'close') return []
  const names: string[] = []
  for (const name of connection.split(',')) {
    const trimmed = name.trim().toLowerCase()
    if (trimmed !== '') names.push(trimmed)
  }
  return names
}

/** Removes hop-by-hop headers and every header the Connection header names, in place. */
export function stripHopByHop (headers: Headers): Headers {
  for (const name of connectionNamed(headers.connection)) delete headers[name]
  for (const name of HOP_BY_HOP) {
    // `delete` only where present: deleting turns the object into a slow dictionary.
    if (headers[name] !== undefined) delete headers[name]
  }
  return headers
}
