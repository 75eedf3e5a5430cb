import { createPrivateKey, generateKeyPairSync, sign as edSign, type KeyObject } from 'node:crypto'
import { createServer } from 'node:http'
import t from 'tap'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { b64, keyPair, nowS, sign, type KeyPair } from '../helpers/tokens.js'

/** A JWKS endpoint serving `keys`; closed when the test ends. */
async function serveJwks (t: { teardown: (fn: () => unknown) => void }, keys: Array<Record<string, unknown>>): Promise<string> {
  const server = createServer((_req, res) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ keys })) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const address = server.address()
  return `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/jwks.json`
}

function jwk (publicKey: KeyObject, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...publicKey.export({ format: 'jwk' }), use: 'sig', ...extra }
}

/** An EdDSA token signed by hand: fast-jwt's signer does not know the RFC 9864 name `Ed25519`. */
function edToken (privateKey: KeyObject, alg: string, kid?: string): string {
  const now = nowS()
  const input = `${b64({ alg, typ: 'JWT', ...(kid !== undefined && { kid }) })}.${b64({ sub: 'user-ed', jti: `jti-${Math.random()}`, iat: now, exp: now + 900 })}`
  return `${input}.${edSign(null, Buffer.from(input), privateKey).toString('base64url')}`
}

async function verify (gw: Gateway, token: string): Promise<{ status: number, description: string }> {
  const res = await call(`${gw.url}/auth/verify`, { token })
  return { status: res.status, description: res.body?.error_description ?? '' }
}

const rsaToken = (pair: KeyPair, kid?: string): string => sign({ key: pair.privatePem, algorithm: 'RS256', ...(kid !== undefined && { kid }) })

t.test('a token without kid against a JWKS of several keys for its alg is refused without trying them (as panva/jose)', async (t) => {
  const keys = [keyPair('rsa'), keyPair('rsa'), keyPair('rsa'), keyPair('rsa')]
  const url = await serveJwks(t, keys.map((pair, i) => jwk(pair.publicKey, { kid: `k${i}` })))
  const gw = await startGateway(t, { JWT_SECRET: '', JWT_ALGORITHMS: 'RS256', JWKS_URL: url })
  const res = await verify(gw, rsaToken(keys[3]))
  t.equal(res.status, 401)
  t.match(res.description, /names no key \(kid\)/)
  t.equal((await verify(gw, rsaToken(keys[3], 'k3'))).status, 200, 'with its kid it verifies')
})

t.test('a token without kid is verified when exactly one JWKS key takes its alg', async (t) => {
  const rsa = keyPair('rsa')
  const ec = keyPair('ec')
  const url = await serveJwks(t, [jwk(rsa.publicKey, { kid: 'r' }), jwk(ec.publicKey, { kid: 'e' })])
  const gw = await startGateway(t, { JWT_SECRET: '', JWT_ALGORITHMS: 'RS256,ES256', JWKS_URL: url })
  t.equal((await verify(gw, rsaToken(rsa))).status, 200, 'one RSA key: tried')
  t.equal((await verify(gw, sign({ key: ec.privatePem, algorithm: 'ES256' }))).status, 200, 'one EC key: tried')
  t.equal((await verify(gw, rsaToken(keyPair('rsa')))).status, 401, 'a forged one still fails')
})

// FAPI 2.0 Security Profile §5.4.3: with several keys of one kid, the verifier considers kty, alg, ...
t.test('two JWKS keys sharing a kid: each token verifies with the key of its alg', async (t) => {
  const rsa = keyPair('rsa')
  const ec = keyPair('ec')
  const url = await serveJwks(t, [jwk(rsa.publicKey, { kid: 'shared', alg: 'RS256' }), jwk(ec.publicKey, { kid: 'shared', alg: 'ES256' })])
  const gw = await startGateway(t, { JWT_SECRET: '', JWT_ALGORITHMS: 'RS256,ES256', JWKS_URL: url })
  t.equal((await verify(gw, rsaToken(rsa, 'shared'))).status, 200, 'RS256: the RSA key')
  t.equal((await verify(gw, sign({ key: ec.privatePem, algorithm: 'ES256', kid: 'shared' }))).status, 200, 'ES256: the EC key')
  t.equal((await verify(gw, sign({ key: keyPair('ec').privatePem, algorithm: 'ES256', kid: 'shared' }))).status, 401, 'another EC key under that kid fails')
})

t.test('an unknown kid with JWT_SECRET also set is an unknown key, not a refused algorithm', async (t) => {
  const published = keyPair('rsa')
  const url = await serveJwks(t, [jwk(published.publicKey, { kid: 'known' })])
  const gw = await startGateway(t, { JWT_ALGORITHMS: 'HS256,RS256', JWKS_URL: url })
  const res = await verify(gw, rsaToken(keyPair('rsa'), 'rotated-away'))
  t.equal(res.status, 401)
  t.match(res.description, /unknown key/)
  t.match((await verify(gw, sign({ algorithm: 'HS512' }))).description, /algorithm is not accepted/, 'an unlisted algorithm is still "not accepted"')
  t.equal((await verify(gw, rsaToken(published, 'known'))).status, 200)
})

t.test('an allowed algorithm no configured key takes is an unknown key, with JWT_SECRET set', async (t) => {
  const rsa = keyPair('rsa')
  const gw = await startGateway(t, { JWT_ALGORITHMS: 'HS256,RS256,ES256', JWT_PUBLIC_KEYS: rsa.publicPem.replaceAll('\n', '\\n') })
  const res = await verify(gw, sign({ key: keyPair('ec').privatePem, algorithm: 'ES256', kid: 'ec-1' }))
  t.equal(res.status, 401)
  t.match(res.description, /unknown key/)
})

t.test('RFC 9864 Ed25519: accepted as EdDSA on Ed25519 keys, never on Ed448 keys', async (t) => {
  const ed = keyPair('ed25519')
  const ed448 = generateKeyPairSync('ed448')
  const pem = (key: KeyObject): string => key.export({ type: 'spki', format: 'pem' }).toString().replaceAll('\n', '\\n')
  const gw = await startGateway(t, { JWT_SECRET: '', JWT_ALGORITHMS: 'EdDSA', JWT_PUBLIC_KEYS: [pem(ed.publicKey), pem(ed448.publicKey)].join(',') })
  const edPrivate = generateKeyPairSync('ed25519')
  t.equal((await verify(gw, edToken(createPrivateKey(ed.privatePem), 'Ed25519'))).status, 200, 'alg Ed25519 on an Ed25519 key')
  t.equal((await verify(gw, edToken(createPrivateKey(ed.privatePem), 'EdDSA'))).status, 200, 'alg EdDSA still')
  t.equal((await verify(gw, edToken(ed448.privateKey, 'EdDSA'))).status, 200, 'EdDSA on Ed448')
  t.equal((await verify(gw, edToken(ed448.privateKey, 'Ed25519'))).status, 401, 'Ed25519 names the curve: an Ed448 signature is refused')
  t.equal((await verify(gw, edToken(edPrivate.privateKey, 'Ed25519'))).status, 401, 'an unknown Ed25519 key')
})

t.test('JWKS keys marked alg Ed25519 are used, not skipped; a key JWT_ALGORITHMS excludes is logged', async (t) => {
  const ed = keyPair('ed25519')
  const rsa = keyPair('rsa')
  const url = await serveJwks(t, [jwk(ed.publicKey, { kid: 'ed', alg: 'Ed25519' }), jwk(rsa.publicKey, { kid: 'rsa', alg: 'RS256' })])
  const gw = await startGateway(t, { JWT_SECRET: '', JWT_ALGORITHMS: 'EdDSA', JWKS_URL: url })
  t.equal((await verify(gw, edToken(createPrivateKey(ed.privatePem), 'Ed25519', 'ed'))).status, 200)
  t.equal((await verify(gw, edToken(createPrivateKey(ed.privatePem), 'EdDSA', 'ed'))).status, 401, 'the key is bound to the alg it names (as jose)')
  const skipped = gw.logs.find((line) => line.includes('JWKS keys skipped'))
  t.ok(skipped, 'the excluded RSA key is reported')
  t.match(skipped, /"kid":"rsa"/)
  t.notMatch(skipped, /"kid":"ed"/)
})

t.test('JWT_ALGORITHMS=Ed25519 alone: only the fully-specified name verifies', async (t) => {
  const ed = keyPair('ed25519')
  const gw = await startGateway(t, { JWT_SECRET: '', JWT_ALGORITHMS: 'Ed25519', JWT_PUBLIC_KEYS: ed.publicPem.replaceAll('\n', '\\n') })
  t.equal((await verify(gw, edToken(createPrivateKey(ed.privatePem), 'Ed25519'))).status, 200)
  t.match((await verify(gw, edToken(createPrivateKey(ed.privatePem), 'EdDSA'))).description, /algorithm is not accepted/)
})
