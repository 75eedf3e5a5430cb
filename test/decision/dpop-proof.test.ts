import { constants, createPrivateKey, createPublicKey, generateKeyPairSync, generatePrimeSync, sign as cryptoSign, type KeyObject } from 'node:crypto'
import fc from 'fast-check'
import t from 'tap'
import { createProofVerifier, type Proof } from '../../src/decision/dpop-proof.js'
import { Failures, type Failure } from '../../src/errors.js'
import { ASYMMETRIC_ALGORITHMS } from '../../src/tokens/algorithms.js'
import { dpopKey, proof, thumbprint, type DpopKey } from '../helpers/dpop.js'

const verify = createProofVerifier(ASYMMETRIC_ALGORITHMS)
const base = { htm: 'GET', htu: 'https://api.example/r' }
const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

function passes (result: Proof | Failure): boolean {
  return !('code' in result)
}

/** A proof signed by `privateKey` with the hash and encoding `alg` names, whatever key it is. */
function signedAs (alg: string, privateKey: KeyObject, header: Record<string, unknown>, claims: Record<string, unknown> = { jti: 'j', iat: 1, ...base }): string {
  const input = `${b64({ typ: 'dpop+jwt', alg, ...header })}.${b64(claims)}`
  const hash = alg === 'EdDSA' || alg === 'Ed25519' ? null : `sha${alg.slice(2)}`
  const options = alg.startsWith('PS')
    ? { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }
    : { key: privateKey, dsaEncoding: 'ieee-p1363' as const }
  return `${input}.${cryptoSign(hash, Buffer.from(input), options).toString('base64url')}`
}

const es256 = dpopKey('ES256')

t.test('RFC 7638 §3.2: a kty other than EC, RSA, OKP is refused, never a crash (Object.prototype names included)', async () => {
  const kty = fc.oneof(fc.constantFrom(...Object.getOwnPropertyNames(Object.prototype), 'oct', 'ec', 'rsa', 'okp'), fc.string())
    .filter((k) => !['EC', 'RSA', 'OKP'].includes(k))
  fc.assert(fc.property(kty, (k) => {
    const result = verify(proof(es256, { ...base, header: { jwk: { ...es256.publicJwk, kty: k } } }))
    return result === Failures.DPOP_PROOF_INVALID
  }), { numRuns: 300 })
})

t.test('RFC 9449 §4.3 checks 2-7: any header members and jwk shapes get an answer, never a throw', async () => {
  const member = fc.oneof(fc.constantFrom('kty', 'crv', 'x', 'y', 'n', 'e', 'alg', 'use', 'key_ops', 'kid', '__proto__', 'constructor'), fc.string())
  const jwk = fc.oneof(fc.jsonValue(), fc.dictionary(member, fc.jsonValue()).map((extra) => ({ ...es256.publicJwk, ...extra })))
  const header = fc.record({ jwk, typ: fc.oneof(fc.constant('dpop+jwt'), fc.jsonValue()), extra: fc.dictionary(member, fc.jsonValue()) })
  fc.assert(fc.property(header, ({ jwk, typ, extra }) => {
    const result = verify(signedAs('ES256', es256.privateKey, { ...extra, typ, jwk }))
    return typeof result === 'object' && result !== null
  }), { numRuns: 500 })
})

const KEYS: Array<{ readonly name: string, readonly key: { privateKey: KeyObject, publicKey: KeyObject }, readonly algs: readonly string[] }> = [
  { name: 'EC P-256', key: generateKeyPairSync('ec', { namedCurve: 'P-256' }), algs: ['ES256'] },
  { name: 'EC P-384', key: generateKeyPairSync('ec', { namedCurve: 'P-384' }), algs: ['ES384'] },
  { name: 'EC P-521', key: generateKeyPairSync('ec', { namedCurve: 'P-521' }), algs: ['ES512'] },
  { name: 'RSA 2048', key: generateKeyPairSync('rsa', { modulusLength: 2048 }), algs: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] },
  { name: 'Ed25519', key: generateKeyPairSync('ed25519'), algs: ['EdDSA', 'Ed25519'] },
  { name: 'Ed448', key: generateKeyPairSync('ed448'), algs: ['EdDSA'] }
]

t.test('RFC 7518 §3.1 and RFC 8037 §3.1: alg and the jwk\'s key type and curve agree, or the proof is refused (ES256 over P-384, PS256 over EC, Ed25519 over Ed448)', async () => {
  const pairs = fc.tuple(fc.constantFrom(...KEYS), fc.constantFrom(...ASYMMETRIC_ALGORITHMS))
  fc.assert(fc.property(pairs, ([{ key, algs }, alg]) => {
    let p: string
    try {
      p = signedAs(alg, key.privateKey, { jwk: key.publicKey.export({ format: 'jwk' }) })
    } catch {
      // node:crypto cannot sign this pair at all (an RSA hash over an Ed25519 key): forge the signature.
      p = `${b64({ typ: 'dpop+jwt', alg, jwk: key.publicKey.export({ format: 'jwk' }) })}.${b64({ jti: 'j', iat: 1, ...base })}.AAAA`
    }
    return passes(verify(p)) === algs.includes(alg)
  }), { numRuns: 200 })
})

t.test('RFC 9449 §4.3 check 6: an X25519 (key agreement) jwk is no signing key, under any alg', async (t) => {
  const x25519 = generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' })
  for (const alg of ['EdDSA', 'Ed25519']) {
    t.equal(verify(signedAs(alg, generateKeyPairSync('ed25519').privateKey, { jwk: x25519 })), Failures.DPOP_PROOF_INVALID, alg)
  }
})

t.test('RFC 9449 §4.3 check 7: a jwk with any private member, whatever its value, is refused', async () => {
  const rsa = dpopKey('RS256')
  const ed = dpopKey('EdDSA')
  const privateMember = fc.constantFrom('d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k')
  fc.assert(fc.property(fc.constantFrom(es256, rsa, ed), privateMember, fc.jsonValue().filter((v) => v !== null), (key: DpopKey, name, value) => {
    return verify(proof(key, { ...base, header: { jwk: { ...key.publicJwk, [name]: value } } })) === Failures.DPOP_PROOF_INVALID
  }), { numRuns: 200 })
})

t.test('RFC 7638 §3.2-3.3: members outside the required ones change neither the thumbprint nor the verdict', async () => {
  const extra = fc.dictionary(fc.string().filter((n) => !['kty', 'crv', 'x', 'y', 'd', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', '__proto__'].includes(n)), fc.jsonValue())
  fc.assert(fc.property(extra, (members) => {
    const result = verify(proof(es256, { ...base, header: { jwk: { ...es256.publicJwk, ...members } } }))
    return passes(result) && (result as Proof).jkt === thumbprint(es256.publicJwk)
  }), { numRuns: 200 })
})

t.test('RFC 9449 §4.3 check 4 with RFC 7515 §4.1.9: typ is the media type dpop+jwt in any letter case, "application/" optional; nothing else', async () => {
  const spelling = fc.tuple(fc.boolean(), fc.array(fc.boolean(), { minLength: 8, maxLength: 8 })).map(([prefix, upper]) =>
    `${prefix ? 'application/' : ''}${[...'dpop+jwt'].map((c, i) => upper[i] ? c.toUpperCase() : c).join('')}`)
  fc.assert(fc.property(spelling, (typ) => passes(verify(proof(es256, { ...base, header: { typ } })))), { numRuns: 100 })
  const other = fc.oneof(fc.string(), fc.constantFrom('jwt', 'JWT', 'at+jwt', 'dpop+jwt ', ' dpop+jwt', 'dpop+jwt; charset=utf-8', 'application/jwt', 'text/dpop+jwt', 'dpop'))
    .filter((typ) => !/^(?:application\/)?dpop\+jwt$/i.test(typ))
  fc.assert(fc.property(other, (typ) => verify(proof(es256, { ...base, header: { typ } })) === Failures.DPOP_PROOF_INVALID), { numRuns: 300 })
})

t.test('RFC 7515 §2 / RFC 4648 §5: a segment with padding, +, /, whitespace or a fourth segment is refused', async () => {
  const p = proof(es256, base)
  const bad = fc.constantFrom('=', '==', '+', '/', ' ', '\t', '.', '%')
  fc.assert(fc.property(bad, fc.nat(p.length), (c, at) => verify(p.slice(0, at) + c + p.slice(at)) === Failures.DPOP_PROOF_INVALID), { numRuns: 300 })
})

t.test('RFC 9449 §4.2: jti a string of 1-256 characters, iat a finite number, ath and nonce strings when present', async () => {
  const notFinite = fc.oneof(fc.string(), fc.boolean(), fc.constant(null), fc.array(fc.integer()), fc.constant('1e400'))
  fc.assert(fc.property(notFinite, (iat) => verify(proof(es256, { ...base, claims: { iat } })) === Failures.DPOP_PROOF_INVALID), { numRuns: 100 })
  const badJti = fc.oneof(fc.constant(''), fc.string({ minLength: 257, maxLength: 400 }), fc.integer(), fc.constant(null), fc.array(fc.string()))
  fc.assert(fc.property(badJti, (jti) => verify(proof(es256, { ...base, claims: { jti } })) === Failures.DPOP_PROOF_INVALID), { numRuns: 100 })
  fc.assert(fc.property(fc.constantFrom('ath', 'nonce', 'htm', 'htu'), fc.oneof(fc.integer(), fc.boolean(), fc.array(fc.string()), fc.object()), (name, value) =>
    verify(proof(es256, { ...base, claims: { [name]: value } })) === Failures.DPOP_PROOF_INVALID), { numRuns: 100 })
})

const big = (value: bigint): string => Buffer.from(value.toString(16).padStart(Math.ceil(value.toString(16).length / 2) * 2, '0'), 'hex').toString('base64url')

function inverse (a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [a % m, m, 1n, 0n]
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1, s0, s1] = [r1, r0 - q * r1, s1, s0 - q * s1]
  }
  return ((s0 % m) + m) % m
}

/** An RSA key of 2048 bits with the public exponent `e` (node:crypto makes none over 32 bits). */
function rsaWithExponent (e: bigint): KeyObject {
  for (;;) {
    const p = generatePrimeSync(1024, { bigint: true })
    const q = generatePrimeSync(1024, { bigint: true })
    const phi = (p - 1n) * (q - 1n)
    const d = inverse(e, phi)
    if (p === q || (e * d) % phi !== 1n) continue
    return createPrivateKey({ key: { kty: 'RSA', n: big(p * q), e: big(e), d: big(d), p: big(p), q: big(q), dp: big(d % (p - 1n)), dq: big(d % (q - 1n)), qi: big(inverse(q, p)) }, format: 'jwk' })
  }
}

t.test('an RSA key whose verification cost is unbounded is refused: a public exponent over 32 bits (RFC 8017 §3.1 allows it; Go refuses it too)', async (t) => {
  for (const [e, accepted] of [[65537n, true], [2n ** 32n - 1n, true], [2n ** 32n + 15n, false], [2n ** 1000n + 1n, false]] as const) {
    const privateKey = rsaWithExponent(e)
    const jwk = createPublicKey(privateKey).export({ format: 'jwk' })
    t.equal(passes(verify(signedAs('RS256', privateKey, { jwk }))), accepted, `e of ${e.toString(2).length} bits`)
  }
})

/** A proof over the JSON texts as given (signed by `key`), so that they can repeat a member. */
function signedText (key: DpopKey, header: string, payload: string): string {
  const input = `${Buffer.from(header).toString('base64url')}.${Buffer.from(payload).toString('base64url')}`
  return `${input}.${cryptoSign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`
}

/** `members` as a JSON object text, `extra` (name, value) written at `at`, its name spelled with `\u` escapes when `escape`. */
function objectText (members: Record<string, unknown>, extra: [string, unknown], at: number, escape: boolean): string {
  const name = escape ? [...extra[0]].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('') : extra[0]
  const parts = Object.entries(members).map(([n, v]) => `${JSON.stringify(n)}:${JSON.stringify(v)}`)
  parts.splice(at % (parts.length + 1), 0, `"${name}" : ${JSON.stringify(extra[1])}`)
  return `{${parts.join(',')}}`
}

t.test('RFC 7493 §2.3 (I-JSON), stricter than RFC 7515 §4: a header, jwk or payload naming a member twice, in any spelling, is refused; once, it passes', async () => {
  const header = { typ: 'dpop+jwt', alg: 'ES256', jwk: es256.publicJwk }
  const payload = { jti: 'dup', htm: 'GET', htu: base.htu, iat: 1 }
  const where = fc.constantFrom('header', 'jwk', 'payload')
  fc.assert(fc.property(where, fc.nat(), fc.boolean(), fc.jsonValue(), fc.boolean(), (part, at, escape, value, repeat) => {
    const target: Record<string, unknown> = part === 'header' ? header : part === 'jwk' ? es256.publicJwk as Record<string, unknown> : payload
    const names = Object.keys(target)
    const name = repeat ? names[at % names.length] : 'unnamed'
    const text = objectText(target, [name, value], at, escape)
    const headerText = part === 'header' ? text : part === 'jwk' ? `{"typ":"dpop+jwt","alg":"ES256","jwk":${text}}` : JSON.stringify(header)
    const result = verify(signedText(es256, headerText, part === 'payload' ? text : JSON.stringify(payload)))
    return repeat ? result === Failures.DPOP_PROOF_INVALID : passes(result)
  }), { numRuns: 500 })
})

t.test('RFC 9449 §6.1: against a token\'s cnf.jkt, a proof with any other key is a key mismatch whatever its signature (no signature is checked with a key the presenter chose); with the bound key, the signature decides', async () => {
  const foreign = fc.constantFrom(...KEYS.map(({ key }) => key.publicKey.export({ format: 'jwk' })), dpopKey('RS256').publicJwk)
  const signature = fc.oneof(fc.constant('AAAA'), fc.uint8Array({ minLength: 1, maxLength: 600 }).map((bytes) => Buffer.from(bytes).toString('base64url')))
  fc.assert(fc.property(foreign, signature, (jwk, sig) => {
    const unsigned = `${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk })}.${b64({ jti: 'j', iat: 1, ...base })}.${sig}`
    const own = `${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: es256.publicJwk })}.${b64({ jti: 'j', iat: 1, ...base })}.${sig}`
    return verify(unsigned, es256.jkt) === Failures.DPOP_KEY_MISMATCH && verify(own, es256.jkt) === Failures.DPOP_PROOF_INVALID
  }), { numRuns: 200 })
  fc.assert(fc.property(fc.constant(null), () => passes(verify(proof(es256, base), es256.jkt))), { numRuns: 5 })
})

t.test('RFC 9449 §4.3 check 2: a header or claims segment that is not one JSON object (a BOM, an array, a JSON string of JSON, nesting) is refused; a proof over 8 KiB is refused unread', async (t) => {
  const header = JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk: es256.publicJwk })
  const claims = JSON.stringify({ jti: 'j', iat: 1, ...base })
  const wrap = fc.constantFrom((x: string) => `\uFEFF${x}`, (x: string) => `[${x}]`, (x: string) => JSON.stringify(x), (x: string) => `{"h":${x}}`, (x: string) => `${x}${x}`, (x: string) => `${x}\u0000`)
  fc.assert(fc.property(wrap, fc.boolean(), (f, inHeader) => {
    return verify(signedText(es256, inHeader ? f(header) : header, inHeader ? claims : f(claims))) === Failures.DPOP_PROOF_INVALID
  }), { numRuns: 50 })
  t.ok(passes(verify(signedText(es256, ` ${header}\n`, `\t${claims} `))), 'JSON whitespace around the object is JSON')
  fc.assert(fc.property(fc.integer({ min: 0, max: 9000 }), (padding) => {
    const p = proof(es256, { ...base, claims: { pad: 'x'.repeat(padding) } })
    return passes(verify(p)) === (p.length <= 8192)
  }), { numRuns: 100 })
})
