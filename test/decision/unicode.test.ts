import { readFileSync } from 'node:fs'
import t from 'tap'
import { canonicalPath } from '../../src/decision/paths.js'
import { foldCase } from '../../src/decision/unicode.js'

// Issue 16 item 1: every code point that the Unicode Character Database maps
// to something containing ASCII (case mappings, case folding, recursive
// compatibility decomposition) is refused in a path. The oracle is the UCD
// files themselves, not Node's ICU, and every code point is tried.

const UCD = '/usr/share/unicode'
const skip = (() => {
  try {
    readFileSync(`${UCD}/UnicodeData.txt`)
    return false
  } catch {
    return `no Unicode Character Database in ${UCD} (apt-get install unicode-data; .ci/run installs it)`
  }
})()

const hex = (field: string): number[] => field.trim() === '' ? [] : field.trim().split(/\s+/).map((h) => parseInt(h, 16))
const lines = (file: string): string[][] => readFileSync(`${UCD}/${file}`, 'utf8').split('\n')
  .map((line) => line.replace(/#.*/, '').trim()).filter((line) => line !== '').map((line) => line.split(';'))

interface Entry {
  decomposition: number[]
  compat: boolean
  combining: boolean
  /** Every case mapping and folding, locale-conditional ones included. */
  caseMaps: number[][]
  /** Those of the root locale (no Turkic or Lithuanian condition). */
  rootMaps: number[][]
}

function database (): Map<number, Entry> {
  const db = new Map<number, Entry>()
  const entry = (cp: number): Entry => {
    let e = db.get(cp)
    if (e === undefined) {
      e = { decomposition: [], compat: false, combining: false, caseMaps: [], rootMaps: [] }
      db.set(cp, e)
    }
    return e
  }
  for (const f of lines('UnicodeData.txt')) {
    const e = entry(parseInt(f[0] as string, 16))
    const decomposition = f[5] as string
    e.compat = decomposition.startsWith('<')
    e.decomposition = hex(decomposition.replace(/<[^>]*>/, ''))
    e.combining = (f[3] as string) !== '0' || /^M[nce]$/.test(f[2] as string)
    // Fields 12, 13, 14: simple upper, lower and title case.
    for (const field of [f[12], f[13], f[14]]) {
      if (hex(field as string).length > 0) { e.caseMaps.push(hex(field as string)); e.rootMaps.push(hex(field as string)) }
    }
  }
  // Full lower, title and upper case, every condition (Turkic, Lithuanian, final sigma) included.
  for (const f of lines('SpecialCasing.txt')) {
    const e = entry(parseInt(f[0] as string, 16))
    const locale = /\b(?:tr|az|lt)\b/.test(f[4] ?? '')
    for (const field of [f[1], f[2], f[3]]) {
      e.caseMaps.push(hex(field as string))
      if (!locale) e.rootMaps.push(hex(field as string))
    }
  }
  // Common, full, simple and Turkic case folding.
  for (const f of lines('CaseFolding.txt')) {
    const e = entry(parseInt(f[0] as string, 16))
    e.caseMaps.push(hex(f[2] as string))
    if ((f[1] as string).trim() !== 'T') e.rootMaps.push(hex(f[2] as string))
  }
  return db
}

function decompose (db: Map<number, Entry>, cps: readonly number[]): number[] {
  return cps.flatMap((cp) => {
    const d = db.get(cp)?.decomposition ?? []
    return d.length === 0 ? [cp] : decompose(db, d)
  })
}

const asPath = (cps: readonly number[]): string => '/x' + encodeURIComponent(String.fromCodePoint(...cps))
const refused = (path: string): boolean => typeof canonicalPath(path) !== 'string'
const show = (cp: number): string => 'U+' + cp.toString(16).toUpperCase().padStart(4, '0')

t.test('every code point the UCD maps to ASCII is refused in a path; decomposed spellings are refused as not NFC', { skip }, async (t) => {
  const db = database()
  const missed: string[] = []
  let checked = 0
  for (let cp = 0x80; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue
    const e = db.get(cp)
    if (e === undefined) continue
    checked++
    // A case mapping that contains ASCII: refused, no exception (`\u0130` lower-cases to `i` + U+0307).
    const caseAscii = e.caseMaps.some((m) => m.some((c) => c < 0x80))
    // The recursive decomposition of the code point and of each case mapping.
    const decompositions = [decompose(db, [cp]), ...e.caseMaps.map((m) => decompose(db, m))]
    const standsAlone = (d: number[]): boolean => d.some((c, i) => c < 0x80 && db.get(d[i + 1] ?? -1)?.combining !== true)
    if (caseAscii || decompositions.some(standsAlone)) {
      if (!refused(asPath([cp]))) missed.push(show(cp))
      continue
    }
    // ASCII only as the base of a combining sequence (`\u00E9` = `e` + U+0301): the
    // composed character may pass, but never its decomposed spelling.
    for (const d of decompositions) {
      if (d.some((c) => c < 0x80) && !refused(asPath([cp])) && !refused(asPath(d))) missed.push(`${show(cp)} decomposed`)
    }
  }
  t.ok(checked > 30000, `${checked} assigned code points checked`)
  t.same(missed, [], 'code points the UCD maps to ASCII that a path may carry')
})

t.test('the examples the issue names are refused, plain accented letters pass', async (t) => {
  for (const ch of ['\u212A', '\u0130', '\u0131', '\u017F', '\uFB00', '\u1E9E', '\u00DF', '\u2025', '\uFF0F', '\uFF41', '\u00AD', '\u0378']) {
    t.equal(refused('/' + encodeURIComponent(ch) + 'yc'), true, show(ch.codePointAt(0) as number))
  }
  t.equal(canonicalPath('/caf%C3%A9'), '/café')
  t.equal(canonicalPath('/\u00CF\u0080'), '/π', 'raw UTF-8 bytes, as Node passes them')
  t.equal(refused('/cafe%CC%81'), true, 'the decomposed spelling of é is refused (not NFC)')
})

// Locale-tailored mappings (Turkic, Lithuanian) that reach ASCII are refused above; the others add combining dots no rule names.
t.test('rules fold letter case so that every spelling a case-insensitive upstream equates matches (more, never less)', { skip }, async (t) => {
  const db = database()
  const apart: string[] = []
  for (const [cp, e] of db) {
    if (cp < 0x80 || (cp >= 0xd800 && cp <= 0xdfff) || refused(asPath([cp]))) continue
    for (const m of e.rootMaps) {
      if (m.length === 0 || refused(asPath(m))) continue
      if (foldCase(String.fromCodePoint(cp)) !== foldCase(String.fromCodePoint(...m))) apart.push(`${show(cp)} -> ${m.map(show).join(' ')}`)
    }
  }
  t.same(apart, [], 'case mappings the rule fold keeps apart')
})
