export type Headers = Record<string, string | string[] | undefined>

// RFC 9110 section 7.6.1: meaningful for one connection only, in either direction.
export const HOP_BY_HOP: readonly string[] = ['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'proxy-authorization', 'proxy-authenticate', 'proxy-connection']

const HOP_BY_HOP_SET: ReadonlySet<string> = new Set(HOP_BY_HOP)

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

/**
 * A copy of `headers` (names lower-case) without hop-by-hop headers and
 * without those the Connection header names. A copy rather than `delete`:
 * deleting turns the object into a slow dictionary for the writer.
 */
export function withoutHopByHop (headers: Headers): Headers {
  const named = connectionNamed(headers.connection)
  const kept: Headers = {}
  for (const name in headers) {
    if (!HOP_BY_HOP_SET.has(name) && (named.length === 0 || !named.includes(name))) kept[name] = headers[name]
  }
  return kept
}
