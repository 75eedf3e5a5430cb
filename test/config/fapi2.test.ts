import { createECDH, generateKeyPairSync, getCurves, type KeyObject } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer } from 'node:https'
import { connect } from 'node:tls'
import t from 'tap'
import { Agent, getGlobalDispatcher, setGlobalDispatcher } from 'undici'
import { loadConfig } from '../../src/config/load.js'
import { fapi2KeyLengthProblem } from '../../src/tokens/fapi2-keys.js'
import { configProblems } from '../helpers/config.js'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { testPki } from '../helpers/certificates.js'
import { keyPair, sign, SECRET } from '../helpers/tokens.js'
import { startUpstream } from '../helpers/upstream.js'

// SECURITY_PROFILE=fapi2: FAPI 2.0 Security Profile (final, February 2025) for a resource server;
// clause numbers as in that text (docs/mtls.md says how it was checked).
const ec = keyPair('ec')
const rsa = keyPair('rsa')
const pem = (key: KeyObject, type: 'spki' | 'pkcs8'): string => key.export({ type, format: 'pem' }).toString()
const weakRsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
const ed448 = generateKeyPairSync('ed448')
const p192 = generateKeyPairSync('ec', { namedCurve: 'prime192v1' })
const FAPI: Record<string, string> = { NODE_ENV: 'production', ALLOW_MEMORY_STORE: 'true', SECURITY_PROFILE: 'fapi2' }
// startGateway's base environment holds a JWT_SECRET: none here.
const NO_SECRET = { JWT_SECRET: undefined }
const ES256 = { ...FAPI, JWT_ALGORITHMS: 'ES256', JWT_PUBLIC_KEYS: ec.publicPem }

t.test('start-up refuses, naming the variable, every setting FAPI 2.0 forbids a resource server', async (t) => {
  const cases: Array<[string, Record<string, string>, string, RegExp]> = [
    ['§5.4.1 item 1.2: HS256 (a shared secret)', { ...FAPI, JWT_SECRET: SECRET }, 'JWT_ALGORITHMS', /only PS256, ES256 and EdDSA.*not HS256/],
    ['§5.4.1 item 1.2: RS256', { ...FAPI, JWT_ALGORITHMS: 'RS256', JWT_PUBLIC_KEYS: rsa.publicPem }, 'JWT_ALGORITHMS', /not RS256/],
    ['§5.4.1 item 1.2: ES384', { ...FAPI, JWT_ALGORITHMS: 'ES256,ES384', JWT_PUBLIC_KEYS: ec.publicPem }, 'JWT_ALGORITHMS', /not ES384/],
    ['§5.4.1 item 2: an RSA key under 2048 bits', { ...FAPI, JWT_ALGORITHMS: 'PS256', JWT_PUBLIC_KEYS: pem(weakRsa.publicKey, 'spki') }, 'JWT_PUBLIC_KEYS', /RSA key of 1024 bits/],
    ['§5.4.1 item 1.2: EdDSA with Ed448', { ...FAPI, JWT_ALGORITHMS: 'EdDSA', JWT_PUBLIC_KEYS: pem(ed448.publicKey, 'spki') }, 'JWT_PUBLIC_KEYS', /Ed448/],
    ['§5.4.1 item 2: a signing key under 2048 bits', { ...FAPI, JWT_ALGORITHMS: 'PS256', JWKS_URL: 'https://idp.example/jwks', JWT_PRIVATE_KEY: pem(weakRsa.privateKey, 'pkcs8') }, 'JWT_PRIVATE_KEY', /1024 bits/],
    ['§5.4.1 item 3: an elliptic-curve key under 224 bits (ES256 needs P-256 anyway)', { ...FAPI, JWT_ALGORITHMS: 'ES256', JWT_PUBLIC_KEYS: pem(p192.publicKey, 'spki') }, 'JWT_PUBLIC_KEYS', /ec key/],
    ['§5.2.1 item 1: JWKS over http', { ...FAPI, JWT_ALGORITHMS: 'ES256', JWKS_URL: 'http://idp.example/jwks' }, 'JWKS_URL', /https only/],
    ['§5.2.1 item 5: no TLS server certificate check', { ...ES256, NODE_TLS_REJECT_UNAUTHORIZED: '0' }, 'NODE_TLS_REJECT_UNAUTHORIZED', /refuses 0.*NODE_EXTRA_CA_CERTS/],
    ['§5.3.4 item 3: revocation status verified, FAIL_MODE=open', { ...ES256, FAIL_MODE: 'open' }, 'FAIL_MODE', /refuses FAIL_MODE=open/]
  ]
  for (const [name, env, variable, message] of cases) {
    const problems = configProblems(env)
    t.ok(problems.some((problem) => problem.startsWith(`${variable}:`) && message.test(problem)), `${name}: ${variable} named (${problems.join(' | ')})`)
  }
  t.ok(configProblems({ SECURITY_PROFILE: 'fapi2' }).some((problem) => problem.startsWith('JWT_SECRET:')), 'the development HS256 key is refused')
  t.same(configProblems(ES256), [], 'ES256 with a P-256 key passes')
  t.same(configProblems({ ...FAPI, JWT_ALGORITHMS: 'PS256', JWT_PUBLIC_KEYS: rsa.publicPem }), [], 'PS256 with a 2048-bit key passes')
  t.same(configProblems({ ...ES256, NODE_TLS_REJECT_UNAUTHORIZED: '1' }), [], 'NODE_TLS_REJECT_UNAUTHORIZED=1 (Node\'s check on) passes')
  t.equal(loadConfig(ES256).failMode, 'closed', 'FAIL_MODE defaults to closed under the profile')
  t.equal(loadConfig({ JWT_SECRET: SECRET }).failMode, 'open', 'and stays open by default without it')
  t.match(configProblems({ ...ES256, SECURITY_PROFILE: 'fapi' }), [/SECURITY_PROFILE: "fapi" is not accepted/])
})

const pki = testPki(t)
const client = pki.selfSigned('fapi-client')
const es256 = (claims: Record<string, unknown>): string => sign({ key: ec.privatePem, algorithm: 'ES256', claims: { sub: 'alice', ...claims } })

t.test('§5.3.4 item 5: only sender-constrained access tokens pass', async (t) => {
  const gateway = await startGateway(t, { ...NO_SECRET, ...ES256, CLIENT_CERT_HEADER: 'rfc9440', RESOURCE_URL: 'https://api.example/' })
  const verify = async (token: string, headers: Record<string, string> = {}): Promise<Awaited<ReturnType<typeof call>>> => await call(`${gateway.url}/auth/verify`, { token, headers })
  const bearer = await verify(es256({}))
  t.equal(bearer.status, 401, 'a bearer token (no cnf) is refused')
  t.equal(bearer.body.error, 'invalid_token')
  t.match(bearer.body.error_description, /sender-constrained/)
  t.equal((await verify(es256({ cnf: { 'x5t#S256': client.thumbprint } }), { 'client-cert': `:${client.derBase64}:` })).status, 200, 'a certificate-bound token with its certificate (RFC 8705)')
  t.equal((await verify(es256({ cnf: { 'x5t#S256': 42 } }))).status, 401, 'a cnf whose x5t#S256 is not a string binds nothing')
  const metadata = await call(`${gateway.url}/.well-known/oauth-protected-resource`)
  t.equal(metadata.body.tls_client_certificate_bound_access_tokens, true, 'RFC 9728 metadata says certificate-bound tokens are supported')
})

t.test('§5.3.4 items 1–2: the access token is read from the Authorization header only, never the query, a form body or a cookie', async (t) => {
  const upstream = await startUpstream(t)
  const gateway = await startGateway(t, { ...NO_SECRET, ...ES256, UPSTREAM_URL: upstream.url, CLIENT_CERT_HEADER: 'rfc9440' })
  const token = es256({ cnf: { 'x5t#S256': client.thumbprint } })
  const cert = { 'client-cert': `:${client.derBase64}:` }
  t.equal((await call(`${gateway.url}/api/items`, { token, headers: cert })).status, 200, 'in the Authorization header')
  const query = await call(`${gateway.url}/api/items?access_token=${token}`, { headers: cert })
  t.equal(query.status, 401, 'RFC 6750 §2.3 query parameter')
  t.match(query.body.error_description, /required/)
  t.equal((await call(`${gateway.url}/api/items`, { method: 'POST', headers: cert, form: { access_token: token } })).status, 401, 'RFC 6750 §2.2 form body')
  t.equal((await call(`${gateway.url}/api/items`, { headers: { ...cert, cookie: `access_token=${token}` } })).status, 401, 'a cookie')
  t.equal(upstream.seen.length, 1, 'only the header-borne request reached the upstream')
})

t.test('§5.4.1 at run time: keys arriving in a JWKS are held to the same rules at every fetch', async (t) => {
  const jwk = (key: KeyObject, kid: string, alg: string): Record<string, unknown> => ({ ...key.export({ format: 'jwk' }), kid, alg, use: 'sig' })
  const weak = generateKeyPairSync('rsa', { modulusLength: 1024 })
  const strong = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const keys = { keys: [jwk(weak.publicKey, 'weak', 'PS256'), jwk(strong.publicKey, 'strong', 'PS256'), jwk(ed448.publicKey, 'ed448', 'EdDSA')] }
  const server = createServer({ cert: pki.server.cert, key: pki.server.key }, (_req, res) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(keys)) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve) }))
  const port = (server.address() as { port: number }).port
  // The JWKS is fetched over https from a server signed by the test CA.
  const previous = getGlobalDispatcher()
  setGlobalDispatcher(new Agent({ connect: { ca: pki.ca.cert } }))
  t.teardown(() => { setGlobalDispatcher(previous) })
  const gateway = await startGateway(t, { ...NO_SECRET, ...FAPI, JWT_ALGORITHMS: 'PS256,EdDSA', JWKS_URL: `https://127.0.0.1:${port}/jwks`, CLIENT_CERT_HEADER: 'rfc9440' })
  const cert = { 'client-cert': `:${client.derBase64}:` }
  const claims = { sub: 'alice', cnf: { 'x5t#S256': client.thumbprint } }
  const signed = (key: KeyObject, kid: string, algorithm: string): string => sign({ key: key.export({ type: 'pkcs8', format: 'pem' }).toString(), algorithm, kid, claims })
  t.equal((await call(`${gateway.url}/auth/verify`, { token: signed(strong.privateKey, 'strong', 'PS256'), headers: cert })).status, 200, 'a 2048-bit RSA key verifies')
  const refused = await call(`${gateway.url}/auth/verify`, { token: signed(weak.privateKey, 'weak', 'PS256'), headers: cert })
  t.equal(refused.status, 401, 'a 1024-bit RSA key in the JWKS never verifies')
  t.equal(refused.body.error, 'invalid_token')
  t.ok(gateway.logs.some((line) => line.includes('JWKS keys skipped') && line.includes('1024 bits') && line.includes('Ed448')), 'both skipped keys are logged with the rule')
})

t.test('§5.2.2 item 1: TLS 1.2 on the profile\'s listener offers only the RFC 9325 §4.2 ECDHE AES-GCM suites', async (t) => {
  const tls = { TLS_CERT_FILE: pki.server.certFile, TLS_KEY_FILE: pki.server.keyFile, TLS_CLIENT_CERT: 'request' }
  const handshake = async (url: string, ciphers: string): Promise<string | null> => await new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: Number(new URL(url).port), ca: pki.ca.cert, maxVersion: 'TLSv1.2', ciphers })
    socket.once('secureConnect', () => { resolve(socket.getCipher().standardName); socket.destroy() })
    socket.once('error', () => resolve(null))
  })
  const fapi = await startGateway(t, { ...NO_SECRET, ...ES256, ...tls })
  const plain = await startGateway(t, tls)
  t.equal(await handshake(fapi.url, 'ECDHE-ECDSA-AES128-GCM-SHA256'), 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', 'an RFC 9325 suite')
  t.equal(await handshake(fapi.url, 'ECDHE-ECDSA-AES128-SHA'), null, 'a CBC suite is refused under the profile')
  t.equal(await handshake(plain.url, 'ECDHE-ECDSA-AES128-SHA'), 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA', 'and accepted without it (Node\'s defaults)')
})

t.test('§5.4.1 items 2–3 hold for the TLS listener\'s key too', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tokengate-fapi2-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const keyFile = join(dir, 'weak.key')
  writeFileSync(keyFile, pem(weakRsa.privateKey, 'pkcs8'))
  const ecKeyFile = join(dir, 'p192.key')
  writeFileSync(ecKeyFile, pem(p192.privateKey, 'pkcs8'))
  const tls = { TLS_CERT_FILE: pki.server.certFile, TLS_CLIENT_CERT: 'request' }
  t.match(configProblems({ ...ES256, ...tls, TLS_KEY_FILE: keyFile }), [/^TLS_KEY_FILE: is an RSA key of 1024 bits/], 'a 1024-bit RSA key is named')
  t.match(configProblems({ ...ES256, ...tls, TLS_KEY_FILE: ecKeyFile }), [/^TLS_KEY_FILE: is an elliptic-curve key on prime192v1 .*at least 224 bits/], 'a P-192 key is named')
  t.same(configProblems({ ...ES256, ...tls, TLS_KEY_FILE: pki.server.keyFile }), [], 'the test CA\'s server key passes')
  t.same(configProblems({ ...tls, TLS_KEY_FILE: keyFile, JWT_SECRET: SECRET }), [], 'outside the profile the same key is not refused')
})

t.test('§5.4.1 item 3: of every curve Node.js offers, none under 224 bits is accepted', async (t) => {
  let accepted = 0
  for (const curve of getCurves()) {
    let key: KeyObject
    try {
      key = generateKeyPairSync('ec', { namedCurve: curve }).publicKey
    } catch {
      continue
    }
    // The field size, measured apart from the rule's reading of the name: an uncompressed point is 1 + 2 × its bytes.
    const bits = (createECDH(curve).generateKeys().length - 1) / 2 * 8
    if (fapi2KeyLengthProblem(key) === null) {
      accepted++
      if (bits < 224) t.fail(`${curve} (${bits} bits) accepted`)
    }
  }
  t.ok(accepted >= 4, `${accepted} curves accepted`)
  for (const curve of ['prime256v1', 'secp384r1', 'secp521r1', 'secp224r1']) {
    t.equal(fapi2KeyLengthProblem(generateKeyPairSync('ec', { namedCurve: curve }).publicKey), null, `${curve} accepted`)
  }
})
