/**
 * Method overrides carried in the query string. `_method` is honoured there by
 * Symfony and Laravel (`_method` from the body, else the query), Spring's
 * HiddenHttpMethodFilter (servlet parameters merge query and form), Jersey's
 * HttpMethodOverrideFilter and Express `method-override` with a query getter;
 * ASP.NET Core reads form and query keys case-insensitively. tokengate cannot
 * know which upstream honours it, so a request carrying one is refused in both
 * modes, whatever its method and value.
 */
const OVERRIDE_NAME = '_method'

const PLUS = 43
const PERCENT = 37

function hexValue (code: number): number {
  if (code >= 48 && code <= 57) return code - 48
  const lower = code | 0x20
  return lower >= 97 && lower <= 102 ? lower - 87 : -1
}

/** One percent-decoding pass over a name, `+` as a space; a malformed escape stays as it is (qs, Rack, PHP). */
function decodeOnce (name: string): string {
  let out = ''
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i)
    if (code === PLUS) out += ' '
    else if (code === PERCENT && hexValue(name.charCodeAt(i + 1)) !== -1 && hexValue(name.charCodeAt(i + 2)) !== -1) {
      out += String.fromCharCode(hexValue(name.charCodeAt(i + 1)) * 16 + hexValue(name.charCodeAt(i + 2)))
      i += 2
    } else out += name[i]
  }
  return out
}

// Decoded until nothing changes, so that a server decoding twice (`%255F`) is covered too; bounded.
const MAX_DECODINGS = 4

/**
 * Whether a parameter name is read as `_method` by some common parser. The
 * class covered, each form taken from a parser that reads it so:
 * - escapes and `+` decoded (every parser; `%5F` `%6D` ...);
 * - cut at NUL (PHP keeps variable names as C strings);
 * - leading spaces, brackets and dots dropped (PHP skips leading spaces; qs
 *   strips a wrapping `[...]`, and with `allowDots` reads `._method` as
 *   `[_method]`; Rack 2 drops leading `[` and `]`), then cut at the first `[`,
 *   `]` or `.` (array and hash forms: `_method[]`, `_method[0]`, which Rack, qs
 *   and PHP read as the `_method` parameter and method-override as its first
 *   value; qs `allowDots` reads `_method.0` as `_method[0]`);
 * - or, as PHP reads it: leading spaces dropped, cut at `[`, `.` and space
 *   as `_` (`.method` is `_method`);
 * - letter case ignored (ASP.NET Core form and query collections).
 * The union is wider than any one parser's reading, on purpose: no client
 * needs a parameter that some parser takes for `_method`.
 */
export function isOverrideName (raw: string): boolean {
  let name = raw
  for (let i = 0; i < MAX_DECODINGS; i++) {
    const next = decodeOnce(name)
    if (next === name) break
    name = next
  }
  const nul = name.indexOf('\0')
  if (nul !== -1) name = name.slice(0, nul)
  // No code point outside ASCII case-maps to exactly one of the letters of `_method`: ASCII folding suffices.
  const lower = name.toLowerCase()
  const structured = lower.replace(/^[\s[\].]+/, '')
  const end = structured.search(/[[\].]/)
  if ((end === -1 ? structured : structured.slice(0, end)).trimEnd() === OVERRIDE_NAME) return true
  const php = lower.replace(/^ +/, '')
  const array = php.indexOf('[')
  return (array === -1 ? php : php.slice(0, array)).replace(/[. ]/g, '_') === OVERRIDE_NAME
}

// Without an escape or `+`, a name can only be read as `_method` if it spells "method" itself.
const CANNOT_MATCH = /^[^%+]*$/

/**
 * Whether a request target (or a bare query string after `?`) carries a
 * method override parameter. Parameters are split on `&` and `;` (Go before
 * 1.17, Rack 2, Perl CGI and Python before 3.9.2 also split on `;`); a name
 * ends at the first `=`, or at `]=` as qs reads it.
 */
export function hasQueryOverride (target: string): boolean {
  const q = target.indexOf('?')
  if (q === -1) return false
  const query = target.slice(q + 1)
  if (CANNOT_MATCH.test(query) && !/method/i.test(query)) return false
  for (const part of query.split(/[&;]/)) {
    const equals = part.indexOf('=')
    const name = equals === -1 ? part : part.slice(0, equals)
    if (isOverrideName(name)) return true
    const bracketEquals = part.indexOf(']=')
    if (bracketEquals !== -1 && isOverrideName(part.slice(0, bracketEquals + 1))) return true
  }
  return false
}
