import { createHash, generateKeyPairSync } from 'node:crypto'
import fc from 'fast-check'
import t from 'tap'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { call, type JsonResponse } from '../helpers/http.js'
import { boundToken, dpopKey, proof, type DpopKey } from '../helpers/dpop.js'
import { nowS, sign } from '../helpers/tokens.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { scrape, valueOf } from '../helpers/scrape.js'

const ORIGIN = 'https://api.example'

interface Setup { readonly gw: Gateway, readonly upstream: Upstream }

async function setup (env: Record<string, string> = {}): Promise<Setup> {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url, DPOP: 'true', DPOP_ORIGINS: ORIGIN, METRICS_ON_MAIN_PORT: 'true', ...env })
  return { gw, upstream }
}

const shared = setup()

async function send (gw: Gateway, path: string, { method = 'GET', authorization, dpop, headers = {} }: { method?: string, authorization?: string, dpop?: string, headers?: Record<string, string> }): Promise<JsonResponse> {
  return await call(`${gw.url}${path}`, {
    method,
    headers: { ...(authorization !== undefined && { authorization }), ...(dpop !== undefined && { dpop }), ...headers }
  })
}

async function dpopRequest (key: DpopKey, path: string, options: { method?: string, token?: string, proofOf?: Parameters<typeof proof>[1] } = {}): Promise<JsonResponse> {
  const { gw } = await shared
  const token = options.token ?? boundToken(key)
  const method = options.method ?? 'GET'
  const p = proof(key, options.proofOf ?? { htm: method, htu: `${ORIGIN}${path.split('?')[0]}`, token })
  return await send(gw, path, { method, authorization: `DPoP ${token}`, dpop: p })
}

t.test('RFC 9449 §7.1: a DPoP-bound token with a valid proof passes; identity says dpop; the proof is not forwarded', async (t) => {
  const { upstream } = await shared
  const key = dpopKey()
  const res = await dpopRequest(key, '/accounts/1?x=1')
  t.equal(res.status, 200)
  const seen = upstream.seen.at(-1)
  t.equal(seen?.headers['x-token-binding'], 'dpop')
  t.equal(seen?.headers.dpop, undefined, 'the DPoP proof stays at the gateway (DPOP_FORWARD_PROOF=false)')
  t.match(seen?.headers.authorization, /^DPoP /, 'the Authorization header is forwarded as sent')
})

t.test('RFC 9449 §4.3 with every algorithm family: ES256, PS256, RS256, EdDSA', async (t) => {
  for (const alg of ['ES256', 'PS256', 'RS256', 'EdDSA'] as const) {
    const res = await dpopRequest(dpopKey(alg), '/alg')
    t.equal(res.status, 200, alg)
  }
})

t.test('RFC 9449 §7.2: a DPoP-bound token sent as Bearer is refused, with or without a proof', async (t) => {
  const { gw } = await shared
  const key = dpopKey()
  const token = boundToken(key)
  const bare = await send(gw, '/x', { authorization: `Bearer ${token}` })
  t.equal(bare.status, 401)
  t.equal(bare.body.error, 'invalid_token')
  t.match(bare.headers.get('www-authenticate'), /^Bearer realm="tokengate", error="invalid_token".*, DPoP algs="ES256 /, 'both challenges (RFC 9449 §7.1)')
  const withProof = await send(gw, '/x', { authorization: `Bearer ${token}`, dpop: proof(key, { htm: 'GET', htu: `${ORIGIN}/x`, token }) })
  t.equal(withProof.status, 401)
  t.equal(withProof.body.error_description, 'The token is DPoP-bound: send it with the DPoP scheme and a proof (RFC 9449 §7.2)')
})

t.test('RFC 9449 §7.1: the DPoP scheme or a proof with a token that is not bound is refused', async (t) => {
  const { gw } = await shared
  const key = dpopKey()
  const token = sign()
  const scheme = await send(gw, '/x', { authorization: `DPoP ${token}`, dpop: proof(key, { htm: 'GET', htu: `${ORIGIN}/x`, token }) })
  t.equal(scheme.status, 401)
  t.equal(scheme.body.error_description, 'A DPoP proof or the DPoP scheme came with a token that is not DPoP-bound (no cnf.jkt)')
  const bearer = await send(gw, '/x', { authorization: `Bearer ${token}`, dpop: proof(key, { htm: 'GET', htu: `${ORIGIN}/x`, token }) })
  t.equal(bearer.status, 401)
  const plain = await send(gw, '/x', { authorization: `Bearer ${token}`, headers: { 'x-token-binding': 'dpop' } })
  t.equal(plain.status, 200, 'a plain bearer token without a proof still passes')
  t.equal((await shared).upstream.seen.at(-1)?.headers['x-token-binding'], '', 'not sender-constrained: the client\'s X-Token-Binding is replaced')
})

t.test('RFC 9449 §7.1: a bound token without a proof is refused with a DPoP challenge', async (t) => {
  const { gw } = await shared
  const key = dpopKey()
  const res = await send(gw, '/x', { authorization: `DPoP ${boundToken(key)}` })
  t.equal(res.status, 401)
  t.equal(res.body.error, 'invalid_dpop_proof')
  t.match(res.headers.get('www-authenticate'), /^DPoP realm="tokengate", error="invalid_dpop_proof", error_description="[^"]+", algs="ES256 ES384/)
})

t.test('RFC 9449 §4.3 check 8: htm must be the request method', async (t) => {
  const key = dpopKey()
  const token = boundToken(key)
  const res = await dpopRequest(key, '/pay', { method: 'POST', token, proofOf: { htm: 'GET', htu: `${ORIGIN}/pay`, token } })
  t.equal(res.status, 401)
  t.equal(res.body.error_description, 'The DPoP proof was made for another method or URI (htm, htu)')
  const lower = await dpopRequest(key, '/pay', { method: 'POST', token, proofOf: { htm: 'post', htu: `${ORIGIN}/pay`, token } })
  t.equal(lower.status, 401, 'methods are case-sensitive (RFC 9110 §9.1)')
})

t.test('RFC 9449 §4.3 check 9: htu must be this URI (another host, path, scheme or port is refused)', async (t) => {
  const key = dpopKey()
  const token = boundToken(key)
  for (const htu of ['https://other.example/p', `${ORIGIN}/q`, 'http://api.example/p', 'https://api.example:8443/p', 'not a uri', 'https://user@api.example/p']) {
    const res = await dpopRequest(key, '/p', { token, proofOf: { htm: 'GET', htu, token } })
    t.equal(res.status, 401, htu)
  }
})

t.test('RFC 9449 §4.3 check 9 with RFC 3986 §6.2.2-6.2.3 normalisation: equivalent spellings pass; query and fragment are ignored', async (t) => {
  const key = dpopKey()
  const token = boundToken(key)
  for (const [path, htu] of [
    ['/a/b', 'HTTPS://API.EXAMPLE/a/b'],
    ['/a/b', 'https://api.example:443/a/b'],
    ['/a/b', 'https://api.example/a/b?other=1#frag'],
    ['/%7Euser/x', 'https://api.example/~user/x'],
    ['/~user/x', 'https://api.example/%7euser/x'],
    ['/caf%c3%a9', 'https://api.example/caf%C3%A9'],
    ['/a/b?q=1', 'https://api.example/a/./b'],
    ['/', 'https://api.example']
  ]) {
    const res = await dpopRequest(key, path, { token, proofOf: { htm: 'GET', htu, token } })
    t.equal(res.status, 200, `${path} ~ ${htu}`)
  }
  const encodedSlash = await dpopRequest(key, '/a/b', { token, proofOf: { htm: 'GET', htu: 'https://api.example/a%2Fb', token } })
  t.equal(encodedSlash.status, 401, 'a reserved character\'s escape is not its character (RFC 3986 §2.2)')
})

t.test('RFC 9449 §4.3 check 11: a proof issued outside the window (DPOP_PROOF_MAX_AGE_S 60 plus the clock tolerance) is refused', async (t) => {
  const key = dpopKey()
  const token = boundToken(key)
  const tolerance = (await shared).gw.config.jwt.clockToleranceS
  for (const iat of [nowS() - 61 - tolerance - 2, nowS() + 61 + tolerance + 2]) {
    const res = await dpopRequest(key, '/t', { token, proofOf: { htm: 'GET', htu: `${ORIGIN}/t`, token, iat } })
    t.equal(res.status, 401)
    t.equal(res.body.error_description, 'The DPoP proof was issued outside the accepted time window (iat)')
  }
  const recent = await dpopRequest(key, '/t', { token, proofOf: { htm: 'GET', htu: `${ORIGIN}/t`, token, iat: nowS() - 50 } })
  t.equal(recent.status, 200, 'inside the window')
})

t.test('RFC 9449 §4.3 check 12 (§7): ath missing or of another token is refused', async (t) => {
  const key = dpopKey()
  const token = boundToken(key)
  const missing = await dpopRequest(key, '/a', { token, proofOf: { htm: 'GET', htu: `${ORIGIN}/a` } })
  t.equal(missing.status, 401)
  t.equal(missing.body.error_description, 'The DPoP proof does not carry the hash of this access token (ath)')
  const other = await dpopRequest(key, '/a', { token, proofOf: { htm: 'GET', htu: `${ORIGIN}/a`, token: boundToken(key) } })
  t.equal(other.status, 401)
})

t.test('RFC 9449 §6.1: a proof signed by another key than cnf.jkt is refused and raises bound_token_without_key', async (t) => {
  const { gw } = await shared
  const key = dpopKey()
  const thief = dpopKey()
  const token = boundToken(key)
  const res = await dpopRequest(thief, '/k', { token, proofOf: { htm: 'GET', htu: `${ORIGIN}/k`, token } })
  t.equal(res.status, 401)
  t.equal(res.body.error_description, 'The DPoP proof is signed by another key than the one the token is bound to (cnf.jkt)')
  const metrics = await scrape(gw.url)
  t.ok(valueOf(metrics, 'tokengate_dpop_failures_total', { reason: 'dpop_key_mismatch' }) >= 1, 'counted by reason')
})

t.test('RFC 9449 §11.1: a proof is accepted once; its replay is refused', async (t) => {
  const { gw } = await shared
  const key = dpopKey()
  const token = boundToken(key)
  const p = proof(key, { htm: 'GET', htu: `${ORIGIN}/r`, token })
  const first = await send(gw, '/r', { authorization: `DPoP ${token}`, dpop: p })
  t.equal(first.status, 200)
  const again = await send(gw, '/r', { authorization: `DPoP ${token}`, dpop: p })
  t.equal(again.status, 401)
  t.equal(again.body.error_description, 'This DPoP proof (its jti) was already used')
})

t.test('RFC 9449 §4.3 checks 2-7: malformed, unsigned, symmetric, wrong typ, private key, jku/x5u and wrong signatures are refused', async (t) => {
  const key = dpopKey()
  const token = boundToken(key)
  const base = { htm: 'GET', htu: `${ORIGIN}/m`, token }
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const ecPrivate = key.privateKey.export({ format: 'jwk' })
  const cases: Array<[string, string]> = [
    ['not a JWT', 'abc'],
    ['alg none (check 5)', proof(key, { ...base, header: { alg: 'none' } }).replace(/\.[^.]+$/, '.')],
    ['alg HS256 (check 5)', proof(key, { ...base, header: { alg: 'HS256' } })],
    ['typ JWT (check 4)', proof(key, { ...base, header: { typ: 'JWT' } })],
    ['no typ (check 4)', proof(key, { ...base, header: { typ: undefined } })],
    ['no jwk (check 3)', proof(key, { ...base, header: { jwk: undefined } })],
    ['private key in jwk (check 7)', proof(key, { ...base, header: { jwk: ecPrivate } })],
    ['kty "constructor" (RFC 7638 §3.2: no such key type; once a 500)', proof(key, { ...base, header: { jwk: { ...key.publicJwk, kty: 'constructor' } } })],
    ['jku present', proof(key, { ...base, header: { jku: 'https://attacker.example/jwks' } })],
    ['x5u present', proof(key, { ...base, header: { x5u: 'https://attacker.example/cert' } })],
    ['jwk of another key (check 6)', proof(key, { ...base, header: { jwk: dpopKey().publicJwk } })],
    ['alg of another family (RS256 over an EC key)', proof(key, { ...base, header: { alg: 'RS256', jwk: rsa.publicKey.export({ format: 'jwk' }) } })],
    ['no jti (check 3)', proof(key, { ...base, claims: { jti: undefined } })],
    ['jti too long', proof(key, { ...base, jti: 'j'.repeat(257) })],
    ['iat not a number', proof(key, { ...base, claims: { iat: 'now' } })]
  ]
  const { gw } = await shared
  for (const [name, p] of cases) {
    const res = await send(gw, '/m', { authorization: `DPoP ${token}`, dpop: p })
    t.equal(res.status, 401, name)
    t.equal(res.body.error, 'invalid_dpop_proof', name)
  }
  const small = dpopKey('RS256', 1024)
  const weak = await dpopRequest(small, '/m', { token: boundToken(small) })
  t.equal(weak.status, 401, 'an RSA key under 2048 bits')
})

t.test('RFC 9449 §4.3 check 1: two DPoP headers are refused', async (t) => {
  const { gw } = await shared
  const key = dpopKey()
  const token = boundToken(key)
  const headers = new Headers({ authorization: `DPoP ${token}` })
  headers.append('dpop', proof(key, { htm: 'GET', htu: `${ORIGIN}/h`, token }))
  headers.append('dpop', proof(key, { htm: 'GET', htu: `${ORIGIN}/h`, token }))
  const res = await call(`${gw.url}/h`, { headers })
  t.equal(res.status, 401)
  t.equal(res.body.error, 'invalid_dpop_proof')
})

t.test('a cached bound token is held to a fresh proof on every request (the warm path)', async (t) => {
  const { gw } = await shared
  const key = dpopKey()
  const token = boundToken(key)
  for (let i = 0; i < 3; i++) t.equal((await dpopRequest(key, '/w', { token })).status, 200, `request ${i + 1}`)
  const noProof = await send(gw, '/w', { authorization: `DPoP ${token}` })
  t.equal(noProof.status, 401, 'a known token without a proof')
  const old = proof(key, { htm: 'GET', htu: `${ORIGIN}/w`, token, iat: nowS() - 600 })
  t.equal((await send(gw, '/w', { authorization: `DPoP ${token}`, dpop: old })).status, 401, 'a known token with an old proof')
})

t.test('RFC 9449 §11.1: a trusted proxy\'s X-Forwarded-Proto and -Host choose among DPOP_ORIGINS, never add one', async (t) => {
  const { gw } = await setup({ DPOP_ORIGINS: `${ORIGIN},https://edge.example` })
  const key = dpopKey()
  const token = boundToken(key)
  const at = async (htu: string, forwarded?: string): Promise<number> => (await send(gw, '/f', {
    authorization: `DPoP ${token}`,
    dpop: proof(key, { htm: 'GET', htu, token }),
    headers: forwarded === undefined ? {} : { 'x-forwarded-proto': 'https', 'x-forwarded-host': forwarded }
  })).status
  t.equal(await at('https://edge.example/f', 'edge.example'), 200, 'the origin the proxy names')
  t.equal(await at(`${ORIGIN}/f`, 'edge.example'), 401, 'another configured origin than the one the request came in on')
  t.equal(await at('https://evil.example/f', 'evil.example'), 401, 'a proof made for another server, its host forwarded: not believed')
  t.equal(await at('https://edge.example/f'), 200, 'no forwarded origin: any of DPOP_ORIGINS')
  t.equal(await at('http://edge.example/f'), 401, 'the scheme is part of the origin')
})

t.test('DPOP_FORWARD_PROOF=true passes the proof upstream', async (t) => {
  const { gw, upstream } = await setup({ DPOP_FORWARD_PROOF: 'true' })
  const key = dpopKey()
  const token = boundToken(key)
  const p = proof(key, { htm: 'GET', htu: `${ORIGIN}/fw`, token })
  t.equal((await send(gw, '/fw', { authorization: `DPoP ${token}`, dpop: p })).status, 200)
  t.equal(upstream.seen.at(-1)?.headers.dpop, p)
})

t.test('without DPOP=true a DPoP-bound token is refused (RFC 9449 §7.2) and the DPoP scheme is malformed', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url })
  const key = dpopKey()
  const token = boundToken(key)
  t.equal((await send(gw, '/x', { authorization: `Bearer ${token}` })).status, 401)
  t.equal((await send(gw, '/x', { authorization: `DPoP ${token}`, dpop: proof(key, { htm: 'GET', htu: `${ORIGIN}/x`, token }) })).status, 400)
})

t.test('RFC 9449 §4.3 check 9: a trusted proxy\'s forwarded origin outside DPOP_ORIGINS is not believed', async (t) => {
  const { gw } = await shared
  const key = dpopKey()
  const token = boundToken(key)
  const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'other-server.example' }
  const res = await send(gw, '/o', { authorization: `DPoP ${token}`, dpop: proof(key, { htm: 'GET', htu: 'https://other-server.example/o', token }), headers: forwarded })
  t.equal(res.status, 401, 'a proof made for another server, its host passed on by the proxy')
  const ours = await send(gw, '/o', { authorization: `DPoP ${token}`, dpop: proof(key, { htm: 'GET', htu: `${ORIGIN}/o`, token }), headers: { ...forwarded, 'x-forwarded-host': 'api.example' } })
  t.equal(ours.status, 200, 'the proxy naming one of DPOP_ORIGINS')
})

t.test('RFC 9110 §11.1: the DPoP scheme in any letter case carries a bound token; Bearer in any letter case does not (RFC 9449 §7.2)', async () => {
  const { gw } = await shared
  const key = dpopKey()
  const token = boundToken(key)
  const spelled = (word: string): fc.Arbitrary<string> => fc.array(fc.boolean(), { minLength: word.length, maxLength: word.length })
    .map((upper) => [...word].map((c, i) => upper[i] ? c.toUpperCase() : c.toLowerCase()).join(''))
  await fc.assert(fc.asyncProperty(spelled('dpop'), spelled('bearer'), async (dpop, bearer) => {
    const p = (): string => proof(key, { htm: 'GET', htu: `${ORIGIN}/case`, token })
    const asDpop = await send(gw, '/case', { authorization: `${dpop} ${token}`, dpop: p() })
    const asBearer = await send(gw, '/case', { authorization: `${bearer} ${token}`, dpop: p() })
    return asDpop.status === 200 && asBearer.status === 401 && asBearer.body.error === 'invalid_token'
  }), { numRuns: 20 })
})

t.test('RFC 9449 §11.1: a proof used in proxy mode is a replay at the forward-auth endpoint for the same URI, and the other way round', async (t) => {
  const { gw } = await shared
  const key = dpopKey()
  const token = boundToken(key)
  const original = { 'x-forwarded-method': 'GET', 'x-forwarded-uri': '/modes', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example' }
  const first = proof(key, { htm: 'GET', htu: `${ORIGIN}/modes`, token })
  t.equal((await send(gw, '/modes', { authorization: `DPoP ${token}`, dpop: first })).status, 200, 'proxy')
  const replayed = await send(gw, '/auth/verify', { authorization: `DPoP ${token}`, dpop: first, headers: original })
  t.equal(replayed.status, 401, 'the same proof at /auth/verify')
  t.equal(replayed.body.error_description, 'This DPoP proof (its jti) was already used')
  const second = proof(key, { htm: 'GET', htu: `${ORIGIN}/modes`, token })
  t.equal((await send(gw, '/auth/verify', { authorization: `DPoP ${token}`, dpop: second, headers: original })).status, 200, 'forward-auth')
  t.equal((await send(gw, '/modes', { authorization: `DPoP ${token}`, dpop: second })).status, 401, 'the same proof through the proxy')
})

/** The same signature bytes in another base64url spelling: the last character's unused low bits set. */
function otherSpelling (signature: string): string | null {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const unused = [0, 0, 4, 2][signature.length % 4]
  if (unused === 0) return null
  const last = alphabet.indexOf(signature.at(-1) ?? '')
  return signature.slice(0, -1) + alphabet[last ^ 1]
}

t.test('RFC 9449 §11.1: another encoding of a used proof is the same proof (replay is by jti, per key): trailing base64url bits, the other ECDSA s', async () => {
  const { gw } = await shared
  const key = dpopKey()
  const token = boundToken(key)
  const n = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551')
  await fc.assert(fc.asyncProperty(fc.constantFrom('bits', 'high-s'), async (variant) => {
    const p = proof(key, { htm: 'GET', htu: `${ORIGIN}/enc`, token })
    const [h, c, s] = p.split('.')
    let other: string | null
    if (variant === 'bits') other = otherSpelling(s)
    else {
      const bytes = Buffer.from(s, 'base64url')
      const high = n - BigInt(`0x${bytes.subarray(32).toString('hex')}`)
      other = Buffer.concat([bytes.subarray(0, 32), Buffer.from(high.toString(16).padStart(64, '0'), 'hex')]).toString('base64url')
    }
    fc.pre(other !== null)
    const first = await send(gw, '/enc', { authorization: `DPoP ${token}`, dpop: p })
    const again = await send(gw, '/enc', { authorization: `DPoP ${token}`, dpop: `${h}.${c}.${other}` })
    // Refused as a replay, not as a bad signature: the other spelling verifies.
    return first.status === 200 && again.status === 401 && again.body.error_description === 'This DPoP proof (its jti) was already used'
  }), { numRuns: 12 })
})

t.test('RFC 9449 §4.3 check 12 (§4.2 ath): the token hash in hex, standard base64, padded or of the token with its scheme is refused', async () => {
  const { gw } = await shared
  const key = dpopKey()
  const token = boundToken(key)
  const digest = createHash('sha256').update(token).digest()
  const spellings = [digest.toString('hex'), digest.toString('base64'), `${digest.toString('base64url')}=`, createHash('sha256').update(`DPoP ${token}`).digest('base64url'), createHash('sha256').update(`${token} `).digest('base64url')]
  await fc.assert(fc.asyncProperty(fc.constantFrom(...spellings), async (ath) => {
    const res = await send(gw, '/ath', { authorization: `DPoP ${token}`, dpop: proof(key, { htm: 'GET', htu: `${ORIGIN}/ath`, claims: { ath } }) })
    return res.status === 401 && res.body.error === 'invalid_dpop_proof'
  }), { numRuns: 10 })
})
