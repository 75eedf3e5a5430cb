import { createHmac } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { b64, keyPair, nowS, PREVIOUS_SECRET, SECRET, sign, signRaw } from '../helpers/tokens.js'
import { tempFile } from '../helpers/temp-dir.js'

async function verify (gw: Gateway, token: string): Promise<{ status: number, description: string }> {
  const res = await call(`${gw.url}/auth/verify`, { token })
  return { status: res.status, description: res.body?.error_description ?? '' }
}

function pemFile (pem: string): string {
  return tempFile(t, 'key.pem', pem)
}

t.test('HS256: claims and time rules', async (t) => {
  const gw = await startGateway(t, { JWT_ISSUER: 'https://login.example', JWT_AUDIENCE: 'finance-api' })
  const good = { iss: 'https://login.example', aud: 'finance-api' }
  t.equal((await verify(gw, sign({ claims: good }))).status, 200, 'a well-formed token passes')

  const refused: Array<[string, string, RegExp]> = [
    ['forged signature', sign({ key: 'attacker-secret-attacker-secret-attacker', claims: good }), /signature/],
    ['expired beyond tolerance', sign({ claims: { ...good, iat: nowS() - 100, exp: nowS() - 10 } }), /expired/],
    ['not valid yet', sign({ claims: { ...good, nbf: nowS() + 60 } }), /not valid yet/],
    ['wrong issuer', sign({ claims: { ...good, iss: 'https://evil.example' } }), /issuer|claim/],
    ['wrong audience', sign({ claims: { ...good, aud: 'other-api' } }), /audience|claim/],
    ['no iss while JWT_ISSUER is set', sign({ claims: { ...good, iss: undefined } }), /claim/],
    ['no aud while JWT_AUDIENCE is set', sign({ claims: { ...good, aud: undefined } }), /claim/],
    ['issued in the future', sign({ claims: { ...good, iat: nowS() + 60 } }), /not valid yet/],
    ['no sub', sign({ claims: { ...good, sub: undefined } }), /claim/],
    ['no exp', sign({ claims: { ...good, exp: undefined } }), /claim/],
    ['no iat', signRaw({ ...good, sub: 'u', jti: 'no-iat', exp: nowS() + 900 }), /claim/],
    ['no jti', sign({ claims: { ...good, jti: undefined } }), /claim/],
    ['numeric sub', sign({ claims: { ...good, sub: 42 } }), /claim/],
    ['a refresh token on an access route', sign({ claims: { ...good, token_type: 'refresh' } }), /refresh token cannot be used/]
  ]
  for (const [name, token, description] of refused) {
    const res = await verify(gw, token)
    t.equal(res.status, 401, name)
    t.match(res.description, description, name)
  }
  t.equal((await verify(gw, sign({ claims: { ...good, iat: nowS() - 100, exp: nowS() - 2 } }))).status, 200, 'expired within the 5 s tolerance')
})

t.test('RFC 7519 §4.1.1: an iss that is no string is refused as a claim, also where JWT_ISSUER does not check it', async (t) => {
  const gw = await startGateway(t, {})
  for (const iss of [123, ['https://a.example'], { url: 'x' }, null, true]) {
    const token = sign({ claims: { iss } })
    const res = await verify(gw, token)
    t.equal(res.status, 401, JSON.stringify(iss))
    t.match(res.description, /claim/, JSON.stringify(iss))
    // The issuer keys revocation marks: a logout with it must be a 401 too, never a 500.
    t.equal((await call(`${gw.url}/auth/logout`, { method: 'POST', token })).status, 401, `logout, iss ${JSON.stringify(iss)}`)
  }
  t.equal((await verify(gw, sign({ claims: { iss: 'https://any.example' } }))).status, 200, 'a string iss passes unchecked without JWT_ISSUER')
})

t.test('JWT_CLOCK_TOLERANCE_S sets the leeway for exp, nbf and iat', async (t) => {
  const strict = await startGateway(t, { JWT_CLOCK_TOLERANCE_S: '0' })
  t.equal((await verify(strict, sign({ claims: { iat: nowS() - 100, exp: nowS() - 2 } }))).status, 401, 'no leeway: expired 2 s ago')
  const lenient = await startGateway(t, { JWT_CLOCK_TOLERANCE_S: '30' })
  t.equal((await verify(lenient, sign({ claims: { iat: nowS() - 100, exp: nowS() - 20 } }))).status, 200, 'expired 20 s ago, within 30 s')
  t.equal((await verify(lenient, sign({ claims: { nbf: nowS() + 20 } }))).status, 200, 'valid in 20 s')
  t.equal((await verify(lenient, sign({ claims: { iat: nowS() + 20 } }))).status, 200, 'issued 20 s ahead (clock skew)')
  t.match((await verify(lenient, sign({ claims: { iat: nowS() - 100, exp: nowS() - 40 } }))).description, /expired/, 'beyond 30 s')
})

t.test('unsigned and stripped tokens never verify', async (t) => {
  const gw = await startGateway(t)
  const payload = { sub: 'user-1', jti: 'j-none', iat: nowS(), exp: nowS() + 900 }
  const real = sign({ claims: payload })
  const cases = {
    'alg none, empty signature': `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`,
    'alg None': `${b64({ alg: 'None' })}.${b64(payload)}.`,
    'alg none with a signature': `${b64({ alg: 'none' })}.${b64(payload)}.${real.split('.')[2]}`,
    'HS256 header, signature stripped': `${real.split('.')[0]}.${real.split('.')[1]}.`,
    'HS256 header, two segments': `${real.split('.')[0]}.${real.split('.')[1]}`
  }
  for (const [name, token] of Object.entries(cases)) {
    t.equal((await verify(gw, token)).status, 401, name)
  }
})

t.test('algorithm confusion: an RSA public key is never an HMAC secret', async (t) => {
  const rsa = keyPair('rsa')
  const gw = await startGateway(t, { JWT_SECRET: '', JWT_ALGORITHMS: 'RS256', JWT_PUBLIC_KEYS: pemFile(rsa.publicPem) })
  t.equal((await verify(gw, sign({ key: rsa.privatePem, algorithm: 'RS256' }))).status, 200, 'the genuine RS256 token passes')
  const header = b64({ alg: 'HS256', typ: 'JWT' })
  const body = b64({ sub: 'admin', jti: 'confused', iat: nowS(), exp: nowS() + 900 })
  const signature = createHmac('sha256', rsa.publicPem).update(`${header}.${body}`).digest('base64url')
  t.equal((await verify(gw, `${header}.${body}.${signature}`)).status, 401, 'HS256 signed with the public key PEM is refused')
})

t.test('algorithm confusion with HS256 and RS256 both allowed: the PEM is still no HMAC key', async (t) => {
  const rsa = keyPair('rsa')
  const gw = await startGateway(t, { JWT_ALGORITHMS: 'HS256,RS256', JWT_PUBLIC_KEYS: `rsa-1=${pemFile(rsa.publicPem)}` })
  t.equal((await verify(gw, sign({ key: rsa.privatePem, algorithm: 'RS256', kid: 'rsa-1' }))).status, 200, 'RS256')
  t.equal((await verify(gw, sign())).status, 200, 'HS256 with JWT_SECRET')
  const claims = { sub: 'admin', jti: 'confused-2', iat: nowS(), exp: nowS() + 900 }
  for (const kid of [undefined, 'rsa-1']) {
    const token = signRaw(claims, rsa.publicPem, { alg: 'HS256', typ: 'JWT', ...(kid !== undefined && { kid }) })
    t.equal((await verify(gw, token)).status, 401, `HS256 signed with the PEM, kid ${String(kid)}`)
  }
})

t.test('keys named in token headers (jwk, jku, x5u) are never used, nor fetched', async (t) => {
  const rsa = keyPair('rsa')
  const attacker = keyPair('rsa')
  const jwk = { ...attacker.publicKey.export({ format: 'jwk' }), kid: 'evil', use: 'sig' }
  let fetched = 0
  const keyServer = createServer((_req, res) => {
    fetched++
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ keys: [jwk] }))
  })
  await new Promise<void>((resolve) => keyServer.listen(0, '127.0.0.1', resolve))
  t.teardown(() => keyServer.close())
  const { port } = keyServer.address() as AddressInfo
  const gw = await startGateway(t, { JWT_SECRET: '', JWT_ALGORITHMS: 'RS256', JWT_PUBLIC_KEYS: pemFile(rsa.publicPem) })
  const headers = [{ jwk }, { jku: `http://127.0.0.1:${port}/jwks.json`, kid: 'evil' }, { x5u: `http://127.0.0.1:${port}/cert.pem` }]
  for (const header of headers) {
    const token = sign({ key: attacker.privatePem, algorithm: 'RS256', header })
    t.equal((await verify(gw, token)).status, 401, Object.keys(header)[0])
  }
  t.equal(fetched, 0, 'the attacker\'s key server was never contacted')
})

t.test('HS rotation: the previous secret still verifies, others do not', async (t) => {
  const gw = await startGateway(t, { JWT_PREVIOUS_SECRET: PREVIOUS_SECRET })
  t.equal((await verify(gw, sign({ key: SECRET }))).status, 200, 'current')
  t.equal((await verify(gw, sign({ key: PREVIOUS_SECRET }))).status, 200, 'previous')
  t.equal((await verify(gw, sign({ key: 'a-third-secret-a-third-secret-a-third-secret' }))).status, 401, 'unknown')
  t.match((await verify(gw, sign({ key: PREVIOUS_SECRET, claims: { exp: nowS() - 60, iat: nowS() - 120 } }))).description, /expired/, 'an expired token under the previous key is "expired", not "bad signature"')
})

t.test('HS384 and HS512', async (t) => {
  const gw = await startGateway(t, { JWT_ALGORITHMS: 'HS384,HS512' })
  t.equal((await verify(gw, sign({ algorithm: 'HS384' }))).status, 200)
  t.equal((await verify(gw, sign({ algorithm: 'HS512' }))).status, 200)
  t.equal((await verify(gw, sign({ algorithm: 'HS256' }))).status, 401, 'HS256 is not in the allow-list')
})

t.test('asymmetric algorithms from PEM files, with and without kid', async (t) => {
  const rsa = keyPair('rsa')
  const ec256 = keyPair('ec', 'P-256')
  const ec384 = keyPair('ec', 'P-384')
  const ed = keyPair('ed25519')
  const gw = await startGateway(t, {
    JWT_SECRET: '',
    JWT_ALGORITHMS: 'RS256,PS256,ES256,ES384,EdDSA',
    JWT_PUBLIC_KEYS: [pemFile(rsa.publicPem), `ec256=${pemFile(ec256.publicPem)}`, pemFile(ec384.publicPem), `ed=${pemFile(ed.publicPem)}`].join(',')
  })
  t.equal((await verify(gw, sign({ key: rsa.privatePem, algorithm: 'RS256' }))).status, 200, 'RS256')
  t.equal((await verify(gw, sign({ key: rsa.privatePem, algorithm: 'PS256' }))).status, 200, 'PS256')
  t.equal((await verify(gw, sign({ key: ec256.privatePem, algorithm: 'ES256', kid: 'ec256' }))).status, 200, 'ES256 with kid')
  t.equal((await verify(gw, sign({ key: ec256.privatePem, algorithm: 'ES256' }))).status, 200, 'ES256 without kid')
  t.equal((await verify(gw, sign({ key: ec384.privatePem, algorithm: 'ES384' }))).status, 200, 'ES384')
  t.equal((await verify(gw, sign({ key: ed.privatePem, algorithm: 'EdDSA', kid: 'ed' }))).status, 200, 'EdDSA')
  t.equal((await verify(gw, sign({ key: rsa.privatePem, algorithm: 'RS512' }))).status, 401, 'RS512 is not allowed')
  t.equal((await verify(gw, sign({ key: keyPair('ec').privatePem, algorithm: 'ES256' }))).status, 401, 'an unknown EC key')
})

t.test('a kid that names a PEM key binds the token to that key alone', async (t) => {
  const one = keyPair('rsa')
  const two = keyPair('rsa')
  const gw = await startGateway(t, { JWT_SECRET: '', JWT_ALGORITHMS: 'RS256', JWT_PUBLIC_KEYS: `k1=${pemFile(one.publicPem)},k2=${pemFile(two.publicPem)}` })
  t.equal((await verify(gw, sign({ key: one.privatePem, algorithm: 'RS256', kid: 'k1' }))).status, 200, 'k1 signed by key one')
  t.equal((await verify(gw, sign({ key: one.privatePem, algorithm: 'RS256', kid: 'k2' }))).status, 401, 'k2 claimed, signed by key one')
  t.equal((await verify(gw, sign({ key: two.privatePem, algorithm: 'RS256', kid: 'unknown' }))).status, 200, 'an unknown kid is tried against every key')
})

t.test('oversized tokens and malformed headers are 400 invalid_request', async (t) => {
  const gw = await startGateway(t, { MAX_TOKEN_BYTES: '1024' })
  const big = sign({ claims: { padding: 'x'.repeat(2000) } })
  const res = await call(`${gw.url}/auth/verify`, { token: big })
  t.equal(res.status, 400)
  t.equal(res.body.error, 'invalid_request')
  for (const authorization of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer a b', 'Token abc']) {
    const malformed = await call(`${gw.url}/auth/verify`, { headers: { authorization } })
    t.equal(malformed.status, 400, authorization)
    t.match(malformed.headers.get('www-authenticate'), /error="invalid_request"/)
  }
})

// A lone surrogate survives JSON.parse but not a round trip through Redis (it comes back as
// U+FFFD): a mark written for such an id would never match its token again.
t.test('ids that are not well-formed Unicode are refused, on every route that reads a token', async (t) => {
  const gw = await startGateway(t)
  for (const claim of ['sub', 'jti', 'sid']) {
    const token = sign({ claims: { [claim]: 'a\ud800b' } })
    const verify = await call(`${gw.url}/auth/verify`, { token })
    t.equal(verify.status, 401, `forward-auth: a lone surrogate in ${claim}`)
    t.equal(verify.body.error, 'invalid_token')
    t.equal((await call(`${gw.url}/auth/token/validate`, { token })).status, 401, `validate: ${claim}`)
    t.equal((await call(`${gw.url}/auth/logout`, { method: 'POST', token })).status, 401, `logout: ${claim}`)
  }
  t.equal((await call(`${gw.url}/auth/verify`, { token: sign({ claims: { sub: 'jos\u00e9', sid: '\ud83d\ude00' } }) })).status, 200, 'well-formed non-ASCII ids pass')
})
