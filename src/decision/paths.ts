/** The path part of a request target, without query or fragment. */
export function pathOf (url: string): string {
  const q = url.indexOf('?')
  const h = url.indexOf('#')
  const end = q === -1 ? (h === -1 ? url.length : h) : (h === -1 ? q : Math.min(q, h))
  return url.slice(0, end)
}

const HEX = '0123456789ABCDEF'

function hexValue (code: number): number {
  if (code >= 48 && code <= 57) return code - 48
  const lower = code | 0x20
  return lower >= 97 && lower <= 102 ? lower - 87 : -1
}

function escape (byte: number): string {
  return '%' + HEX[byte >> 4] + HEX[byte & 15]
}

/** What a raw byte becomes in the normal form. */
type Kind = 'keep' | 'encode' | 'refuse'

// RFC 3986 section 2.3: unreserved characters are decoded.
function isUnreserved (byte: number): boolean {
  return (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || (byte >= 48 && byte <= 57) ||
    byte === 45 /* - */ || byte === 46 /* . */ || byte === 95 /* _ */ || byte === 126 /* ~ */
}

/**
 * Bytes no normal form can hold, raw or encoded, because servers disagree on
 * them: NUL and control characters (some servers cut the path there; nginx
 * regex locations end at a newline), backslash (a separator on Windows
 * servers, and to browsers and Spring), `;` (Tomcat and Spring strip path
 * parameters before routing, so `/admin;x` is `/admin` to them and `..;` is
 * `..`) and DEL.
 */
function isRefused (byte: number): boolean {
  return byte < 0x20 || byte === 0x7f || byte === 92 /* \ */ || byte === 59 /* ; */
}

// Printable ASCII that RFC 3986 does not allow raw in a path; browsers send some
// of them unencoded (`|`, `^`, `[`). Every decoder reads them and their escapes alike.
const ENCODED_RAW = new Set('"<>[]^`{|}'.split('').map((c) => c.charCodeAt(0)))

function rawKind (code: number): Kind {
  if (isRefused(code)) return 'refuse'
  // A header value (forward-auth) reaches us as latin1: bytes above 0x7f are UTF-8 bytes sent raw.
  if (code >= 0x80 || ENCODED_RAW.has(code)) return 'encode'
  return 'keep'
}

// Already normal: the characters RFC 3986 allows raw in a path (minus `;`), no escape, no `//`, no dot segment.
const PLAIN = /^(?:\/[A-Za-z0-9\-._~!$&'()*+,=:@]*)+$/
const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/

/**
 * The one path a decision is made on, normalised as RFC 3986 section 6.2.2
 * says: escapes of unreserved characters decoded (`/%61dmin` is `/admin`),
 * other escapes upper-cased (`%c3%a9` is `%C3%A9`), repeated slashes collapsed
 * (as nginx `merge_slashes` and Envoy `merge_slashes` do). Null when the path
 * cannot be normalised without ambiguity, because servers decode or route it
 * differently (see the rule for each byte above):
 * - an encoded `/` `\` `.` or `;`, an encoded control character or NUL;
 * - dot segments (`..` `.`), after decoding;
 * - a double encoding (`%252e`: decoded once more by some servers, it is `.`);
 * - an escape that is not two hex digits, or bytes that are not UTF-8
 *   (overlong forms such as `%C0%AE` included);
 * - a raw `;` (path parameters), backslash or control character.
 * `path` must start with `/` (origin-form).
 */
export function normalisePath (path: string): string | null {
  if (PLAIN.test(path) && !path.includes('//') && !DOT_SEGMENT.test(path)) return path
  let out = ''
  let nonAscii = false
  for (let i = 0; i < path.length; i++) {
    const code = path.charCodeAt(i)
    if (code === 37 /* % */) {
      const hi = hexValue(path.charCodeAt(i + 1))
      const lo = hexValue(path.charCodeAt(i + 2))
      if (hi === -1 || lo === -1) return null
      const byte = hi * 16 + lo
      i += 2
      if (byte === 46 /* . */ || byte === 47 /* / */ || isRefused(byte)) return null
      // `%25` followed by hex digits is an escape of an escape.
      if (byte === 37 && hexValue(path.charCodeAt(i + 1)) !== -1 && hexValue(path.charCodeAt(i + 2)) !== -1) return null
      if (isUnreserved(byte)) out += String.fromCharCode(byte)
      else {
        if (byte >= 0x80) nonAscii = true
        out += escape(byte)
      }
      continue
    }
    if (code > 0xff) return null
    const kind = rawKind(code)
    if (kind === 'refuse') return null
    if (kind === 'encode') {
      if (code >= 0x80) nonAscii = true
      out += escape(code)
    } else if (code !== 47 || out.charCodeAt(out.length - 1) !== 47) out += path[i]
  }
  if (DOT_SEGMENT.test(out)) return null
  if (nonAscii && !isUtf8(out)) return null
  return out
}

/** Whether the escapes of a path decode as UTF-8 (decodeURIComponent refuses overlong forms and surrogates). */
function isUtf8 (path: string): boolean {
  try {
    decodeURIComponent(path)
    return true
  } catch {
    return false
  }
}

/**
 * A path from configuration (PUBLIC_PATHS, ACCESS_RULES_FILE) in the same
 * normal form as request paths, so that `/caf%c3%a9`, `/café` and `/%63afé`
 * name the same prefix. Null when it cannot be normalised.
 */
export function normaliseConfiguredPath (path: string): string | null {
  if (!path.startsWith('/')) return null
  // A configured string is Unicode: its UTF-8 bytes as latin1 characters, as a raw request would carry them.
  const bytes = Buffer.from(path, 'utf8').toString('latin1')
  const normal = normalisePath(bytes)
  return normal === null ? null : normal.length > 1 ? normal.replace(/\/$/, '') : normal
}

/** Whole-segment prefix match: `/public` covers `/public` and `/public/x`, never `/publicity`. */
export function underPrefix (path: string, prefix: string): boolean {
  if (prefix === '/') return true
  return path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 47 /* / */)
}
