export interface TokenHeader {
  readonly alg: string
  readonly kid: string | null
  readonly typ: string | null
}

/**
 * Reads only the protected header, to choose candidate keys. Nothing in it is
 * trusted: jku, x5u and jwk are never looked at, and the algorithm is checked
 * again by the verifier against the key's own family.
 */
export function peekHeader (token: string): TokenHeader | null {
  const dot = token.indexOf('.')
  if (dot < 1) return null
  try {
    const header: unknown = JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString('utf8'))
    if (header === null || typeof header !== 'object') return null
    const { alg, kid, typ } = header as Record<string, unknown>
    if (typeof alg !== 'string') return null
    return { alg, kid: typeof kid === 'string' ? kid : null, typ: typeof typ === 'string' ? typ : null }
  } catch {
    return null
  }
}
