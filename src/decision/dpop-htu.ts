import type { IncomingHttpHeaders } from 'node:http'

// RFC 3986 §2.3: escapes of these decode to the same URI (§6.2.2.2).
const UNRESERVED = /^[A-Za-z0-9\-._~]$/
const ESCAPE = /%([0-9A-Fa-f]{2})/g

function percentNormal (_escape: string, hex: string): string {
  const char = String.fromCharCode(parseInt(hex, 16))
  return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`
}

/**
 * A URI without query and fragment in the form RFC 9449 §4.3 compares `htu` in: syntax-based
 * normalisation (RFC 3986 §6.2.2: scheme and host lower-cased, escapes of unreserved
 * characters decoded and the others' hex upper-cased, dot segments removed) and scheme-based
 * (§6.2.3: the default port dropped, an empty path is "/"). The WHATWG URL parser does all but
 * the escapes, which are done here; both sides of the comparison go through this one function.
 * Null for anything but an absolute http(s) URI without user information.
 */
export function normalisedHtu (uri: string): string | null {
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    return null
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username !== '' || url.password !== '') return null
  return `${url.origin}${url.pathname.replace(ESCAPE, percentNormal)}`
}

/** An origin (scheme, host, port) in the form normalisedHtu writes it; null when `text` is not one. */
export function normalisedOrigin (text: string): string | null {
  const normal = normalisedHtu(text)
  if (normal === null) return null
  const url = new URL(text)
  return url.pathname === '/' && url.search === '' && url.hash === '' ? url.origin : null
}

/** The request a proof is checked against: its method and its URI as the client sent it, without the query. */
export interface ProofTarget {
  readonly method: string
  /** Origins the URI may have: the one a trusted proxy named, or DPOP_ORIGINS. */
  readonly origins: readonly string[]
  /** The path as sent (origin-form, query removed), escapes not decoded. */
  readonly path: string
}

function single (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) || value === undefined || value.includes(',') ? undefined : value
}

/**
 * The origin a trusted proxy says the client used (X-Forwarded-Proto and -Host, one value
 * each); null when it names none. Only a trusted peer's headers are read: anyone else could
 * name the origin a captured proof was made for.
 */
export function forwardedOrigin (headers: IncomingHttpHeaders, trusted: boolean): string | null {
  if (!trusted) return null
  const proto = single(headers['x-forwarded-proto'])
  const host = single(headers['x-forwarded-host'])
  if (proto === undefined || host === undefined || (proto !== 'http' && proto !== 'https') || /[/?#@\\\s]/.test(host)) return null
  return normalisedOrigin(`${proto}://${host}`)
}

/** The path of a request target as sent, without its query and fragment. */
export function pathAsSent (target: string): string {
  const end = target.search(/[?#]/)
  return end === -1 ? target : target.slice(0, end)
}

/** Whether the proof's `htu` names the target: the same normalised URI, on one of the target's origins. */
export function htuMatches (htu: string, target: ProofTarget): boolean {
  const proof = normalisedHtu(htu)
  if (proof === null) return false
  for (const origin of target.origins) {
    if (proof.startsWith(origin) && proof === normalisedHtu(origin + target.path)) return true
  }
  return false
}
