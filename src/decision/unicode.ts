// Issue 16: non-ASCII in a path is refused, never folded, when an upstream
// could read it as ASCII. Case-insensitive routers fold with Unicode rules
// (Fastify `caseSensitive: false`, Python and Java lower-case, .NET upper-cases)
// and some servers apply NFKC: KELVIN SIGN U+212A is `k` to them, so
// `/\u212Ayc` would skip a `/kyc` rule; `\u2025` is `..` and `\uFF0F` is `/`.

const ASCII = /[\0-\x7f]/
// Unassigned: a later Unicode may give it an ASCII mapping this Node does not know.
// Default ignorable: invisible, and erased by NFKC_Casefold (`/ky\u00ADc` is `/kyc` to it).
const OPAQUE = /[\p{Cn}\p{Default_Ignorable_Code_Point}]/u
const MAX_STEPS = 32

/**
 * Whether a character (one code point) is unassigned, default ignorable, or
 * reaches a string containing ASCII through any chain of case mappings (full
 * upper and lower case, root, Turkic and Lithuanian, which include title case and case folding up to
 * composition: `\u1E9E`.toLowerCase() is `\u00DF`, whose upper case is `SS`) and
 * NFKC. Canonical decompositions (`\u00E9` = `e` + U+0301) are not followed:
 * a path must be in NFC, so only the composed spelling is ever decided on.
 */
export function readsAsAscii (ch: string): boolean {
  if (OPAQUE.test(ch)) return true
  const seen = new Set([ch])
  const queue = [ch]
  for (let steps = 0; queue.length > 0; steps++) {
    if (steps === MAX_STEPS) return true
    const s = queue.pop() as string
    // Turkic and Lithuanian tailorings too (a JVM's default locale applies them: `\u00CC` is `i` U+0307 U+0300 in lt).
    for (const next of [s.toUpperCase(), s.toLowerCase(), s.normalize('NFKC'), s.toLocaleLowerCase('lt'), s.toLocaleLowerCase('tr'), s.toLocaleUpperCase('tr')]) {
      if (seen.has(next)) continue
      if (ASCII.test(next)) return true
      seen.add(next)
      queue.push(next)
    }
  }
  return false
}

const SAFE = 1
const REFUSED = 2
// One verdict per code point, filled on first sight: bounded (1.1 MB) and no start-up cost.
let verdicts: Uint8Array | null = null

/**
 * Whether a decoded path holding non-ASCII characters is refused: not in NFC
 * (two spellings of `\u00E9` would get two decisions), or carrying a character
 * that reads as ASCII (readsAsAscii). ASCII-only paths never come here.
 */
export function refusedUnicode (path: string): boolean {
  if (path.normalize('NFC') !== path) return true
  verdicts ??= new Uint8Array(0x110000)
  for (const ch of path) {
    const cp = ch.codePointAt(0) as number
    if (cp < 0x80) continue
    let verdict = verdicts[cp]
    if (verdict === 0) {
      verdict = readsAsAscii(ch) ? REFUSED : SAFE
      verdicts[cp] = verdict
    }
    if (verdict === REFUSED) return true
  }
  return false
}

/**
 * The letter-case fold rules are matched on: upper then lower case, so that
 * every spelling a case-insensitive upstream equates (`\u03C2` and `\u03C3` to
 * a folding one, `\u03A3` to an upper-casing one) matches the same rule.
 */
export function foldCase (path: string): string {
  return NON_ASCII.test(path) ? path.toUpperCase().toLowerCase() : path.toLowerCase()
}

const NON_ASCII = /[^\0-\x7f]/
