import fc from 'fast-check'
import t from 'tap'
import { canonicalPath, encodePath } from '../../src/decision/paths.js'

// Issue 16 item 1: one canonical path per request, whatever the spelling, and
// a forwarded target that decodes to exactly that path.

const segment = fc.oneof(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 8 }), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }))
const path = fc.array(segment, { minLength: 1, maxLength: 4 }).map((segments) => '/' + segments.join('/'))
const hex = (b: number, lower: boolean): string => {
  const h = '%' + b.toString(16).padStart(2, '0').toUpperCase()
  return lower ? h.toLowerCase() : h
}
/** Every byte escaped but `/` and `.` (an escaped `.` is refused in every case: servers disagree on `%2e%2e`). */
const escaped = (text: string, lower: boolean): string => [...Buffer.from(text, 'utf8')]
  .map((b) => b === 0x2f || b === 0x2e ? String.fromCharCode(b) : hex(b, lower)).join('')
/** Non-ASCII as raw UTF-8 bytes (latin1 characters, as a forward-auth header carries them), ASCII as encodePath writes it. */
const raw = (text: string): string => [...text].map((c) => c.charCodeAt(0) < 0x80 ? encodePath('/' + c).slice(1) : Buffer.from(c, 'utf8').toString('latin1')).join('')

t.test('what is forwarded decodes to exactly the path decided, and is decided as that path again', async () => {
  fc.assert(fc.property(path, (text) => {
    const decided = canonicalPath(encodePath(text))
    if (typeof decided !== 'string') return true
    const target = encodePath(decided)
    return decodeURIComponent(target) === decided && canonicalPath(target) === decided && /^[\x21-\x7e]+$/.test(target)
  }), { numRuns: 5000 })
})

t.test('a path spelled escaped (either hex case), partly escaped or in raw UTF-8 gets the decision of the encodePath spelling', async () => {
  fc.assert(fc.property(path, fc.boolean(), fc.array(fc.nat(), { maxLength: 6 }), (text, lower, picks) => {
    const plain = canonicalPath(encodePath(text))
    const chars = [...text]
    const picked = new Set(picks.map((pick) => pick % chars.length))
    const partly = chars.map((c, i) => picked.has(i) ? escaped(c, lower) : encodePath('/' + c).slice(1)).join('')
    return [escaped(text, lower), partly, raw(text)].every((spelling) => {
      const decided = canonicalPath(spelling)
      return typeof plain === 'string' ? decided === plain : typeof decided !== 'string'
    })
  }), { numRuns: 5000 })
})
