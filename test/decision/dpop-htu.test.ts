import fc from 'fast-check'
import t from 'tap'
import { forwardedOrigin, htuMatches, normalisedHtu } from '../../src/decision/dpop-htu.js'

const UNRESERVED = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~'
const RESERVED = ":/?#[]@!$&'()*+,;="

const unreservedChar = fc.constantFrom(...UNRESERVED.split(''))
// One character, spelled as itself or as an escape in upper- or lower-case hex.
const spelled = unreservedChar.chain((c) => fc.constantFrom(c, `%${c.charCodeAt(0).toString(16).toUpperCase()}`, `%${c.charCodeAt(0).toString(16).toLowerCase()}`).map((s) => [c, s] as const))
const segment = fc.array(spelled, { minLength: 1, maxLength: 8 }).filter((chars) => {
  const plain = chars.map(([c]) => c).join('')
  return plain !== '.' && plain !== '..'
})
const path = fc.array(segment, { minLength: 0, maxLength: 4 })
const host = fc.stringMatching(/^[a-z][a-z0-9]{0,10}\.example$/)

t.test('RFC 9449 §4.3 with RFC 3986 §6.2.2.2: escapes of unreserved characters, in either hex case, name the same htu', async () => {
  fc.assert(fc.property(host, path, (h, segments) => {
    const plain = `https://${h}/${segments.map((s) => s.map(([c]) => c).join('')).join('/')}`
    const escaped = `https://${h}/${segments.map((s) => s.map(([, e]) => e).join('')).join('/')}`
    return normalisedHtu(plain) === normalisedHtu(escaped) && normalisedHtu(plain) !== null
  }))
})

t.test('RFC 3986 §6.2.2.1 and §6.2.3: scheme and host case, the default port and an empty path do not matter', async (t) => {
  fc.assert(fc.property(host, fc.boolean(), (h, upper) => {
    const spelledHost = upper ? h.toUpperCase() : h
    return normalisedHtu(`HTTPS://${spelledHost}:443`) === normalisedHtu(`https://${h}/`) &&
      normalisedHtu(`http://${spelledHost}:80/x`) === normalisedHtu(`http://${h}/x`)
  }))
  t.not(normalisedHtu('https://a.example:8443/x'), normalisedHtu('https://a.example/x'), 'another port is another URI')
  t.not(normalisedHtu('http://a.example/x'), normalisedHtu('https://a.example/x'), 'another scheme is another URI')
})

t.test('RFC 3986 §2.2: an escaped reserved character is never its character', async () => {
  fc.assert(fc.property(host, fc.constantFrom(...RESERVED.split('').filter((c) => c !== '?' && c !== '#')), (h, c) => {
    const escape = `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`
    return normalisedHtu(`https://${h}/a${escape}b`) !== normalisedHtu(`https://${h}/a${c}b`)
  }))
})

t.test('normalisation is idempotent: a normalised htu normalises to itself', async () => {
  fc.assert(fc.property(host, path, fc.constantFrom('', '?q=1', '#f', '?a#b'), (h, segments, tail) => {
    const uri = `https://${h}/${segments.map((s) => s.map(([, e]) => e).join('')).join('/')}${tail}`
    const once = normalisedHtu(uri)
    return once !== null && normalisedHtu(once) === once
  }))
})

t.test('RFC 9449 §4.3 check 9: query and fragment are ignored, dot segments removed; user information and other schemes refused', async (t) => {
  t.equal(normalisedHtu('https://a.example/x/../y?q#f'), 'https://a.example/y')
  t.equal(normalisedHtu('https://a.example/x/%2e%2E/y'), 'https://a.example/y')
  t.equal(normalisedHtu('https://u:p@a.example/y'), null)
  t.equal(normalisedHtu('ftp://a.example/y'), null)
  t.equal(normalisedHtu('/relative'), null)
  const target = { method: 'GET', origins: ['https://a.example'], path: '/caf%c3%a9' }
  t.ok(htuMatches('https://A.example:443/caf%C3%A9', target))
  t.notOk(htuMatches('https://b.example/caf%C3%A9', target), 'an origin not among the target\'s')
})

/** RFC 3986 §6.2.2.2 then §5.2.4 (remove_dot_segments) then §6.2.3 (empty path is "/"), written from the RFC, apart from dpop-htu.ts. */
function rfc3986Path (path: string): string {
  const escapes = path.replace(/%([0-9A-Fa-f]{2})/g, (_e, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16))
    return UNRESERVED.includes(c) ? c : `%${hex.toUpperCase()}`
  })
  let input = escapes
  let output = ''
  while (input !== '') {
    if (input.startsWith('../')) input = input.slice(3)
    else if (input.startsWith('./')) input = input.slice(2)
    else if (input.startsWith('/./')) input = input.slice(2)
    else if (input === '/.') input = '/'
    else if (input.startsWith('/../')) { input = input.slice(3); output = output.slice(0, Math.max(0, output.lastIndexOf('/'))) } else if (input === '/..') { input = '/'; output = output.slice(0, Math.max(0, output.lastIndexOf('/'))) } else if (input === '.' || input === '..') input = ''
    else {
      const end = input.indexOf('/', 1)
      output += end === -1 ? input : input.slice(0, end)
      input = end === -1 ? '' : input.slice(end)
    }
  }
  return output === '' ? '/' : output
}

t.test('RFC 9449 §4.3 check 9: a proof names a request path exactly when RFC 3986 §6.2.2-6.2.3 says they are one (an independent normaliser; pchar paths with escapes, dot segments, reserved characters)', async () => {
  // RFC 3986 §3.3 pchar, and escapes of dots, slashes, letters and "%" itself.
  const piece = fc.constantFrom('/', '/', '.', '..', 'a', 'B', '~', '-', '%2e', '%2E', '%2f', '%2F', '%41', '%61', '%7e', '%7E', '%25', '%3a', ':', '@', '!', '$', '&', "'", '(', ')', '*', '+', ',', ';', '=')
  const pathText = fc.array(piece, { maxLength: 10 }).map((pieces) => `/${pieces.join('')}`)
  fc.assert(fc.property(pathText, pathText, (proofPath, requestPath) => {
    const target = { method: 'GET', origins: ['https://api.example'], path: requestPath }
    return htuMatches(`https://api.example${proofPath}`, target) === (rfc3986Path(proofPath) === rfc3986Path(requestPath))
  }), { numRuns: 5000 })
})

t.test('RFC 9449 §4.3 check 9 with RFC 3986 §6.2.2.1, §6.2.3: a trusted proxy\'s X-Forwarded-Host in any case, with the default or an empty port, names one origin; a trailing dot, user information or a path names none of it', async () => {
  const spelledHost = fc.tuple(host, fc.array(fc.boolean(), { minLength: 20, maxLength: 20 }), fc.constantFrom('', ':', ':443', ':0443'))
    .map(([h, upper, port]) => [h, [...h].map((c, i) => upper[i % 20] ? c.toUpperCase() : c).join('') + port] as const)
  fc.assert(fc.property(spelledHost, ([h, spelled]) => forwardedOrigin({ 'x-forwarded-proto': 'https', 'x-forwarded-host': spelled }, true) === `https://${h}`), { numRuns: 300 })
  const other = fc.tuple(host, fc.constantFrom('.', ':8443', '@evil.example', '/x', '?q', '#f', '\\\\x', ' x', ',evil.example', ':-1', ':80'))
  fc.assert(fc.property(other, ([h, tail]) => {
    const origin = forwardedOrigin({ 'x-forwarded-proto': 'https', 'x-forwarded-host': `${h}${tail}` }, true)
    return origin !== `https://${h}`
  }), { numRuns: 300 })
  fc.assert(fc.property(host, (h) => forwardedOrigin({ 'x-forwarded-proto': 'https', 'x-forwarded-host': h }, false) === null), { numRuns: 20 })
})
