import { parse as querystringParse } from 'node:querystring'
import fc from 'fast-check'
import qs from 'qs'
import t from 'tap'
import { hasQueryOverride } from '../../src/decision/query-override.js'

// Issue 16 item 1: `_method` in the query string, spelled any way a real
// parser reads as `_method`, is found. The parsers here are the ones Node
// upstreams use: qs (Express "extended", body-parser; with allowDots and
// depth 0 too), URLSearchParams, node:querystring (Express 5's "simple" parser
// and method-override's query getter).

const RUNS = Number(process.env.FUZZ_RUNS ?? 2000)

function readAsOverride (query: string): string[] {
  const readers: Array<[string, () => unknown]> = [
    ['qs', () => qs.parse(query)],
    ['qs allowDots', () => qs.parse(query, { allowDots: true })],
    ['qs depth 0', () => qs.parse(query, { depth: 0 })],
    ['URLSearchParams', () => Object.fromEntries(new URLSearchParams(query))],
    ['querystring', () => querystringParse(query)]
  ]
  return readers.filter(([, read]) => Object.hasOwn(read() as object, '_method')).map(([name]) => name)
}

function hex (char: string): string {
  return '%' + char.charCodeAt(0).toString(16).padStart(2, '0')
}

/** One character of the name: mostly raw (so that parsers read many), else in another case, escaped, or escaped twice. */
const spelled = (char: string): fc.Arbitrary<string> => fc.oneof(
  { arbitrary: fc.constant(char), weight: 12 },
  fc.constantFrom(char.toUpperCase(), hex(char), hex(char).toUpperCase(), '%25' + hex(char).slice(1)))

const name = fc.tuple(
  fc.constantFrom('', '', '[', '%5B', '%5b', ' ', '+', '%20', '.', '[[', ']'),
  ...[...'_method'].map(spelled),
  fc.constantFrom('', '', '', '[]', '[0]', '[x]', '%5B%5D', '%5b0%5d', ']', '[', '.', '.0', '[]]', ' ', '+', '%00x', 's', 'x', '_')
).map((parts) => parts.join(''))

const noise = fc.stringMatching(/^[a-z0-9_.%[\]+]{0,8}$/)
const value = fc.constantFrom('DELETE', 'delete', 'PUT', '', 'x%26y')

const parameter = fc.oneof(
  fc.tuple(name, fc.constantFrom('=', '=', ']=', ''), value).map(([n, eq, v]) => eq === '' ? n : `${n}${eq}${v}`),
  fc.tuple(noise, value).map(([n, v]) => `${n}=${v}`)
)
const query = fc.array(parameter, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('&'))

t.test('every query a parser reads as carrying _method is found (property, against qs, URLSearchParams, querystring)', async (t) => {
  let read = 0
  fc.assert(fc.property(query, (q) => {
    const readers = readAsOverride(q)
    if (readers.length > 0) read++
    if (readers.length > 0 && !hasQueryOverride(`/orders?${q}`)) throw new Error(`${readers.join(', ')} read _method in ${q}`)
  }), { numRuns: RUNS })
  t.ok(read > RUNS / 10, `${read} of ${RUNS} generated queries carried _method for some parser`)
})

t.test('the spellings parsers outside Node read as _method are found too', async (t) => {
  const cases: Array<[string, string]> = [
    ['_METHOD=DELETE', 'ASP.NET Core form and query keys ignore case'],
    ['.method=DELETE', 'PHP turns "." in a name into "_"'],
    ['%2Emethod=DELETE', 'PHP, escaped'],
    ['+_method=DELETE', 'PHP skips leading spaces'],
    ['_method%00junk=DELETE', 'PHP cuts a name at NUL'],
    ['[[_method]]]=DELETE', 'Rack 2 drops leading brackets'],
    ['x=1;_method=DELETE', 'Go before 1.17, Rack 2, Perl CGI split on ";"'],
    ['_method%255B%255D=DELETE', 'decoded twice']
  ]
  for (const [q, why] of cases) t.ok(hasQueryOverride(`/orders?${q}`), `${q}: ${why}`)
})

t.test('names that no parser reads as _method are not taken for one', async (t) => {
  for (const q of ['method=DELETE', '_methods=1', 'x_method=1', '__method=1', '_meth=od', 'a=_method', 'q=%5Fmethod', 'sort=method', '_method_name=x', 'id=1&_methodical=2', '']) {
    t.notOk(hasQueryOverride(`/orders?${q}`), q)
  }
  t.notOk(hasQueryOverride('/_method/x'), 'a path segment is not a parameter')
  fc.assert(fc.property(fc.webQueryParameters(), (q) => {
    if (readAsOverride(q).length === 0 && !/method/i.test(decodeURIComponent(q.replace(/%(?![0-9a-f]{2})/gi, '%25')))) {
      if (hasQueryOverride(`/x?${q}`)) throw new Error(q)
    }
  }), { numRuns: RUNS })
})
