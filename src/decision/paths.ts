import { Failures, isFailure, type Failure } from '../errors.js'
import { refusedUnicode } from './unicode.js'

/** The path part of a request target, without query or fragment. */
export function pathOf (url: string): string {
  const q = url.indexOf('?')
  const h = url.indexOf('#')
  const end = q === -1 ? (h === -1 ? url.length : h) : (h === -1 ? q : Math.min(q, h))
  return url.slice(0, end)
}

const HEX = '0123456789ABCDEF'

/** The value of one hex digit's character code; -1 when it is not one. */
export function hexValue (code: number): number {
  if (code >= 48 && code <= 57) return code - 48
  const lower = code | 0x20
  return lower >= 97 && lower <= 102 ? lower - 87 : -1
}

function escape (byte: number): string {
  return '%' + HEX[byte >> 4] + HEX[byte & 15]
}

/**
 * Bytes no canonical path can hold, raw or encoded, because servers disagree
 * on them: NUL and control characters (some servers cut the path there; nginx
 * regex locations end at a newline), backslash (a separator on Windows
 * servers, and to browsers and Spring), `;` (Tomcat and Spring strip path
 * parameters before routing, so `/admin;x` is `/admin` to them and `..;` is
 * `..`) and DEL.
 */
function isRefused (byte: number): boolean {
  return byte < 0x20 || byte === 0x7f || byte === 92 /* \ */ || byte === 59 /* ; */
}

// Already canonical: the characters RFC 3986 allows raw in a path (minus `;`), no escape, no `//`, no dot segment.
const PLAIN = /^(?:\/[A-Za-z0-9\-._~!$&'()*+,=:@]*)+$/
const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/
// An escape left after decoding: a server that decodes twice reads another path.
const ESCAPE = /%[0-9A-Fa-f]{2}/
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * The one path a decision is made on: every escape decoded, as upstreams
 * decode it before routing (Werkzeug, Django, Spring, Go; Express and Fastify
 * for parameters), so `/v1/accounts%3Aclose` is `/v1/accounts:close`;
 * repeated slashes collapsed (as nginx `merge_slashes` and Envoy
 * `merge_slashes` do). A Failure when servers could read the path differently
 * (see the rule for each byte above):
 * - an encoded `/` `\` `.` or `;`, an encoded control character or NUL;
 * - dot segments (`..` `.`), after decoding;
 * - a double encoding (`%252e`, or `%25%32%65`: decoded once more, it is `.`);
 * - an escape that is not two hex digits, or bytes that are not UTF-8
 *   (overlong forms such as `%C0%AE` included);
 * - a raw `;` (path parameters), backslash or control character;
 * - non-ASCII that is not NFC or that an upstream could read as ASCII
 *   (refusedUnicode): PATH_UNICODE.
 * `path` must start with `/` (origin-form); bytes above 0x7f arrive as latin1
 * characters (raw UTF-8, as Node passes a request target or header value).
 */
export function canonicalPath (path: string): string | Failure {
  if (PLAIN.test(path) && !path.includes('//') && !DOT_SEGMENT.test(path)) return path
  let out = ''
  let nonAscii = false
  for (let i = 0; i < path.length; i++) {
    const code = path.charCodeAt(i)
    if (code === 37 /* % */) {
      const hi = hexValue(path.charCodeAt(i + 1))
      const lo = hexValue(path.charCodeAt(i + 2))
      if (hi === -1 || lo === -1) return Failures.PATH_AMBIGUOUS
      const byte = hi * 16 + lo
      i += 2
      if (byte === 46 /* . */ || byte === 47 /* / */ || isRefused(byte)) return Failures.PATH_AMBIGUOUS
      if (byte >= 0x80) nonAscii = true
      out += String.fromCharCode(byte)
      continue
    }
    if (code > 0xff || isRefused(code)) return Failures.PATH_AMBIGUOUS
    if (code >= 0x80) nonAscii = true
    if (code !== 47 || out.charCodeAt(out.length - 1) !== 47) out += path[i]
  }
  if (nonAscii) {
    try {
      out = UTF8.decode(Buffer.from(out, 'latin1'))
    } catch {
      return Failures.PATH_AMBIGUOUS
    }
  }
  if (DOT_SEGMENT.test(out) || (out.includes('%') && ESCAPE.test(out))) return Failures.PATH_AMBIGUOUS
  if (nonAscii && refusedUnicode(out)) return Failures.PATH_UNICODE
  return out
}

// RFC 3986 pchar (unreserved, sub-delims, `:` `@`) and the separator `/`: sent as they are.
const PCHAR = new Uint8Array(128)
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/") PCHAR[c.charCodeAt(0)] = 1

/**
 * A canonical path as a request target: everything outside RFC 3986 `pchar`
 * (and `%` itself) percent-encoded as UTF-8, so what the upstream decodes is
 * exactly the path that was decided (`/a%3Fb` stays a path, `/100%25` stays `%`).
 */
export function encodePath (path: string): string {
  if (PLAIN.test(path)) return path
  let out = ''
  for (const ch of path) {
    const code = ch.charCodeAt(0)
    if (code < 0x80) out += PCHAR[code] === 1 ? ch : escape(code)
    else out += encodeURIComponent(ch)
  }
  return out
}

/**
 * A path from configuration (PUBLIC_PATHS, ACCESS_RULES_FILE) in the same
 * canonical form as request paths, so that `/caf%c3%a9`, `/café` and
 * `/%63afé` name the same prefix, without a trailing `/`. A Failure when it
 * would be refused as a request path.
 */
export function canonicalConfiguredPath (path: string): string | Failure {
  if (!path.startsWith('/')) return Failures.BAD_REQUEST
  // A configured string is Unicode: its UTF-8 bytes as latin1 characters, as a raw request would carry them.
  const canonical = canonicalPath(Buffer.from(path, 'utf8').toString('latin1'))
  if (isFailure(canonical)) return canonical
  return canonical.length > 1 ? canonical.replace(/\/$/, '') : canonical
}

/** Whole-segment prefix match: `/public` covers `/public` and `/public/x`, never `/publicity`. */
export function underPrefix (path: string, prefix: string): boolean {
  if (prefix === '/') return true
  return path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 47 /* / */)
}
