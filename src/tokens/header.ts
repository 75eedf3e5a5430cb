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

/**
 * The payload's `iss`, read unverified to choose whose keys verify the token; null when absent
 * or not a string; undefined when the payload is not a JSON object. Each key then requires this
 * very `iss` (RFC 7519 §4.1.1, RFC 8725 §3.8), so a lie here only picks keys that refuse it.
 */
export function peekIssuer (token: string): string | null | undefined {
  const start = token.indexOf('.') + 1
  const end = token.indexOf('.', start)
  if (start === 0 || end === -1) return undefined
  try {
    const payload: unknown = JSON.parse(Buffer.from(token.slice(start, end), 'base64url').toString('utf8'))
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return undefined
    const { iss } = payload as Record<string, unknown>
    return typeof iss === 'string' ? iss : null
  } catch {
    return undefined
  }
}

/** RFC 7515 §4.1.9: a typ compared case-insensitively, with `application/` omitted. */
export function mediaType (typ: string): string {
  return typ.toLowerCase().replace(/^application\//, '')
}

// Tokens of one issuer share a handful of headers: the typ of each is read once.
const MAX_REMEMBERED_HEADERS = 256
const typBySegment = new Map<string, string | null>()

/**
 * The media type of the token's typ (see mediaType), for a verified token whose header was not
 * otherwise read: its header is the signer's, so the memo cannot be flooded by strangers.
 */
export function mediaTypeOf (token: string): string | null {
  const segment = token.slice(0, token.indexOf('.'))
  let typ = typBySegment.get(segment)
  if (typ === undefined) {
    const named = peekHeader(token)?.typ ?? null
    typ = named === null ? null : mediaType(named)
    if (typBySegment.size < MAX_REMEMBERED_HEADERS) typBySegment.set(segment, typ)
  }
  return typ
}
