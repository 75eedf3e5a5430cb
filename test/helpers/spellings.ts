import fc from 'fast-check'

// Issue 16 item 1: spellings of one path that some upstream could route to the
// same handler: escapes of any character (either hex case), letter case, and
// Unicode look-alikes, raw or escaped. The look-alikes come from Unicode
// itself (every code point whose case mappings or NFKC give the ASCII text),
// not from a list.

const ASCII_TEXT = /^[\x20-\x7e]{1,2}$/

export interface Lookalikes {
  /** ASCII text (lower case, one or two characters) -> characters whose case mappings give it (U+212A: `k`). */
  readonly byCase: ReadonlyMap<string, readonly string[]>
  /** The same through NFKC (U+FF4B: `k`, U+FB00: `ff`, U+FF0F: `/`). */
  readonly byNfkc: ReadonlyMap<string, readonly string[]>
}

function add (table: Map<string, string[]>, image: string, ch: string): boolean {
  if (!ASCII_TEXT.test(image)) return false
  const key = image.toLowerCase()
  table.set(key, [...(table.get(key) ?? []), ch])
  return true
}

/** Every non-ASCII code point that Unicode case mapping or NFKC turns into one or two ASCII characters. */
export function lookalikes (): Lookalikes {
  const byCase = new Map<string, string[]>()
  const byNfkc = new Map<string, string[]>()
  for (let cp = 0x80; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue
    const ch = String.fromCodePoint(cp)
    const cased = [ch.toLowerCase(), ch.toUpperCase(), ch.toUpperCase().toLowerCase(), ch.toLocaleLowerCase('tr')]
    if (!cased.some((image) => add(byCase, image, ch))) add(byNfkc, ch.normalize('NFKC'), ch)
  }
  return { byCase, byNfkc }
}

function escaped (bytes: Buffer, lower: boolean): string {
  const hex = [...bytes].map((b) => '%' + b.toString(16).padStart(2, '0').toUpperCase()).join('')
  return lower ? hex.toLowerCase() : hex
}

const flipCase = (c: string): string => c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()

type How = 'flip' | 'escape' | 'case' | 'nfkc'
interface Mutation { readonly at: number, readonly how: How, readonly pick: number, readonly lower: boolean, readonly raw: boolean }

/**
 * Request targets (latin1, as they go on the wire) that spell `path`: up to
 * four of its characters (or pairs, for `ff`) case-flipped, percent-escaped in
 * either hex case, or replaced by a look-alike sent escaped or as raw UTF-8;
 * the rest kept, as an attacker would keep them.
 */
export function spellingsOf (path: string, { byCase, byNfkc }: Lookalikes): fc.Arbitrary<string> {
  const mutation: fc.Arbitrary<Mutation> = fc.record({
    at: fc.nat({ max: path.length - 1 }),
    how: fc.constantFrom<How>('flip', 'escape', 'case', 'nfkc'),
    pick: fc.nat(),
    lower: fc.boolean(),
    raw: fc.boolean()
  })
  return fc.array(mutation, { maxLength: 4 }).map((mutations) => {
    const pieces: string[] = [...path]
    for (const { at, how, pick, lower, raw } of mutations) {
      const c = path[at] as string
      if (how === 'flip') pieces[at] = flipCase(c)
      else if (how === 'escape') pieces[at] = escaped(Buffer.from(c), lower)
      else {
        const table = how === 'case' ? byCase : byNfkc
        const pair = at + 1 < path.length ? table.get(path.slice(at, at + 2).toLowerCase()) ?? [] : []
        const chars = pair.length > 0 && pick % 2 === 0 ? pair : table.get(c.toLowerCase()) ?? []
        if (chars.length === 0) continue
        const bytes = Buffer.from(chars[pick % chars.length] as string, 'utf8')
        pieces[at] = raw ? bytes.toString('latin1') : escaped(bytes, lower)
        if (chars === pair) pieces[at + 1] = ''
      }
    }
    return pieces.join('')
  })
}

// Characters an API client puts in a path segment, non-ASCII ones that no upstream reads as ASCII included.
const SEGMENT_CHARS = [..."abcXYZ019-_~!$&'()*+,=:@ \"<>[]^`{|}#?%", 'é', 'ü', 'π', 'Ж', '中', '日', '🙂']

/**
 * A path segment as a client writes it before encodeURIComponent: no dot
 * segment, no `;` or `/` or `\` or controls (refused in every spelling), no `%`
 * followed by two hex digits (encoded, that is a double encoding).
 */
export const segment = fc.string({ unit: fc.constantFrom(...SEGMENT_CHARS), minLength: 1, maxLength: 10 })
  .filter((s) => s !== '.' && s !== '..' && !/%[0-9A-Fa-f]{2}/.test(s) && s.normalize('NFC') === s)
