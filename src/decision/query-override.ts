import { hexValue } from './paths.js'

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

const AMPERSAND = 38
const SEMICOLON = 59
const EQUALS = 61
const METHOD = /method/i

/**
 * Whether a request target (or a bare query string after `?`) carries a
 * method override parameter. Parameters are split on `&` and `;` (Go before
 * 1.17, Rack 2, Perl CGI and Python before 3.9.2 also split on `;`); a name
 * ends at the first `=` (qs's `]=` rule only ever makes a name longer, and the
 * longer name reads as `_method` only if its start does). A name without an
 * escape or `+` is decoded only if it spells "method": one pass over the
 * query, no allocation for the usual one.
 */
export function hasQueryOverride (target: string): boolean {
  const q = target.indexOf('?')
  if (q === -1) return false
  const length = target.length
  let i = q + 1
  while (i < length) {
    const start = i
    let end = -1
    let escaped = false
    for (; i < length; i++) {
      const c = target.charCodeAt(i)
      if (c === AMPERSAND || c === SEMICOLON) break
      if (end !== -1) continue
      if (c === EQUALS) end = i
      else if (c === PERCENT || c === PLUS) escaped = true
    }
    if (end === -1) end = i
    i++
    if (end - start < OVERRIDE_NAME.length - 1) continue
    const name = target.slice(start, end)
    if ((escaped || METHOD.test(name)) && isOverrideName(name)) return true
  }
  return false
}
