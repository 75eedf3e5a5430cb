import { createHash, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto'
import { createServer } from 'node:http'
import { setTimeout } from 'node:timers/promises'
import { createSigner } from 'fast-jwt'
import t from 'tap'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { AUDIENCE, startOpenIdProvider, type OpenIdProvider } from '../helpers/oidc-provider.js'
import { keyPair, SECRET, sign, type KeyPair } from '../helpers/tokens.js'
import { configProblems } from '../helpers/config.js'
import { tempFile } from '../helpers/temp-dir.js'

interface Teardown { teardown: (fn: () => unknown) => void }

// The same kid in both providers on purpose: only the token's iss may choose the keys.
const KID = 'shared-kid'

/** Two real OpenID providers signing under one kid, and a gateway trusting both (NODE_ENV=development: http issuers). */
async function twoIssuers (t: Teardown, a: Record<string, unknown> = {}, b: Record<string, unknown> = {}, providers: { aKey?: KeyObject, aClaims?: Record<string, unknown>, bClaims?: Record<string, unknown>, roles?: string[] } = {}): Promise<{ gw: Gateway, a: OpenIdProvider, b: OpenIdProvider }> {
  const roles = providers.roles ?? []
  const first = await startOpenIdProvider(t, { kid: KID, roles, key: providers.aKey, claims: providers.aClaims })
  const second = await startOpenIdProvider(t, { kid: KID, roles, claims: providers.bClaims })
  const gw = await startGateway(t, {
    NODE_ENV: 'development',
    JWT_SECRET: '',
    JWT_ISSUERS: JSON.stringify([
      { issuer: first.issuer, discovery: true, audience: AUDIENCE, ...a },
      { issuer: second.issuer, discovery: true, audience: AUDIENCE, ...b }
    ])
  })
  return { gw, a: first, b: second }
}

/** A token as an issuer's would look, signed with `key` under KID. */
function forge (key: KeyObject, claims: Record<string, unknown>): string {
  const now = Math.floor(Date.now() / 1000)
  const sign = createSigner({ key: key.export({ type: 'pkcs8', format: 'pem' }).toString(), algorithm: 'RS256', kid: KID })
  return sign({ sub: 'orders-client', jti: randomUUID(), iat: now, exp: now + 300, aud: AUDIENCE, ...claims })
}

const verify = async (gw: Gateway, token: string): Promise<Awaited<ReturnType<typeof call>>> => await call(`${gw.url}/auth/verify`, { token })

t.test('two issuers under one kid: the tokens of both pass, each named by X-User-Issuer', async (t) => {
  const { gw, a, b } = await twoIssuers(t)
  for (const provider of [a, b]) {
    const res = await verify(gw, await provider.accessToken())
    t.equal(res.status, 200)
    t.equal(res.headers.get('x-user-issuer'), provider.issuer)
    t.equal(res.headers.get('x-user-id'), 'orders-client', 'the same sub in both: the pair is the identity')
  }
})

t.test('RFC 8725 §3.8, §3.10: A\'s key never verifies a token naming B, whatever its kid', async (t) => {
  const aKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
  const { gw, a, b } = await twoIssuers(t, {}, {}, { aKey })
  t.equal((await verify(gw, forge(aKey, { iss: a.issuer }))).status, 200, 'the key and claims are right for A')
  const crossed = await verify(gw, forge(aKey, { iss: b.issuer }))
  t.equal(crossed.status, 401, 'the same token naming B is tried with B\'s keys only')
  t.match(crossed.body, { error: 'invalid_token', error_description: 'The token signature is invalid' })
})

t.test('RFC 7519 §4.1.1: a token naming no listed issuer, or none, is refused before any key', async (t) => {
  const aKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
  const { gw, a } = await twoIssuers(t, {}, {}, { aKey })
  for (const iss of [`${a.issuer}/`, 'https://idp.example.com', undefined]) {
    const res = await verify(gw, forge(aKey, { iss }))
    t.equal(res.status, 401, String(iss))
    t.match(res.body, { error: 'invalid_token', error_description: 'The token names no trusted issuer (iss)' }, String(iss))
  }
})

t.test('grants_admin per issuer: a partner issuer\'s admin role opens nothing', async (t) => {
  const { gw, a, b } = await twoIssuers(t, { grants_admin: true }, {}, { roles: ['admin'] })
  t.equal((await call(`${gw.url}/admin/alerts`, { token: await a.accessToken() })).status, 200, 'the issuer that grants it')
  const partner = await b.accessToken()
  t.equal((await verify(gw, partner)).status, 200, 'the partner token itself is accepted')
  t.equal((await call(`${gw.url}/admin/alerts`, { token: partner })).status, 403, 'but its admin role is the partner\'s')
})

t.test('jti_claim null: the revocation id is base64url(SHA-256(token)), and revoking it works', async (t) => {
  const { gw, b } = await twoIssuers(t, {}, { jti_claim: null })
  const token = await b.accessToken()
  const other = await b.accessToken()
  const validated = await call(`${gw.url}/auth/token/validate`, { token })
  t.equal(validated.body.jti, createHash('sha256').update(token).digest('base64url'), 'stable: the token\'s own hash, not its jti')
  t.equal((await call(`${gw.url}/auth/revoke`, { method: 'POST', token, json: {} })).status, 200)
  t.match((await verify(gw, token)).body, { error_description: 'The token has been revoked' })
  t.equal((await verify(gw, other)).status, 200, 'another token of the issuer is another id')
})

t.test('session_claim per issuer: a claim of its own names the session; null, none', async (t) => {
  const { gw, a, b } = await twoIssuers(t, { session_claim: 'tenant_session' }, { session_claim: null },
    { aClaims: { tenant_session: 'session-1' }, bClaims: { sid: 'not-a-session-here' } })
  const [a1, a2, b1, b2] = [await a.accessToken(), await a.accessToken(), await b.accessToken(), await b.accessToken()]
  t.equal((await call(`${gw.url}/auth/token/validate`, { token: a1 })).body.sid, 'session-1')
  t.equal((await call(`${gw.url}/auth/token/validate`, { token: b1 })).body.sid, null, 'B\'s sid claim is not read')
  t.equal((await call(`${gw.url}/auth/logout`, { method: 'POST', token: a1, json: {} })).status, 200)
  t.equal((await verify(gw, a2)).status, 401, 'logout revoked A\'s session, named by tenant_session')
  t.equal((await call(`${gw.url}/auth/logout`, { method: 'POST', token: b1, json: {} })).status, 200)
  t.equal((await verify(gw, b2)).status, 200, 'B has no sessions: its logout revoked the one token')
  t.equal((await verify(gw, b1)).status, 401)
})

/** A JWKS endpoint serving whatever `keys` holds at each request, counting them. */
async function jwksEndpoint (t: Teardown, keys: Array<Record<string, unknown>>): Promise<{ url: string, fetches: () => number }> {
  let fetches = 0
  const server = createServer((_req, res) => {
    fetches++
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ keys }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const address = server.address()
  return { url: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/jwks`, fetches: () => fetches }
}

const publicJwk = (pair: KeyPair, kid: string): Record<string, unknown> => ({ ...pair.publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' })

t.test('JWKS per issuer: an unknown kid refetches the keys of the issuer it names, each with its own cooldown', async (t) => {
  const [a1, a2, b1, b2] = [keyPair('rsa'), keyPair('rsa'), keyPair('rsa'), keyPair('rsa')]
  const aKeys = [publicJwk(a1, 'one')]
  const bKeys = [publicJwk(b1, 'one')]
  const [a, b] = [await jwksEndpoint(t, aKeys), await jwksEndpoint(t, bKeys)]
  const [issA, issB] = ['https://a.example.com', 'https://b.example.com']
  const gw = await startGateway(t, {
    NODE_ENV: 'development',
    JWT_SECRET: '',
    JWKS_COOLDOWN_S: '2',
    JWT_ISSUERS: JSON.stringify([{ issuer: issA, jwks_uri: a.url, audience: AUDIENCE }, { issuer: issB, jwks_uri: b.url, audience: AUDIENCE }])
  })
  const token = (pair: KeyPair, kid: string, iss: string): string => sign({ key: pair.privatePem, algorithm: 'RS256', kid, claims: { iss, aud: AUDIENCE } })
  t.same([a.fetches(), b.fetches()], [1, 1], 'each issuer\'s keys fetched once at start')
  await setTimeout(2100) // past the cooldown of the fetches at start
  bKeys.push(publicJwk(b2, 'two'))
  t.equal((await verify(gw, token(b2, 'two', issB))).status, 200, 'B\'s new key, fetched on its kid')
  t.same([a.fetches(), b.fetches()], [1, 2], 'only B\'s keys were fetched again')
  aKeys.push(publicJwk(a2, 'two'))
  t.equal((await verify(gw, token(a2, 'two', issA))).status, 200, 'B\'s cooldown does not hold A back')
  t.same([a.fetches(), b.fetches()], [2, 2])
  t.equal((await verify(gw, token(b2, 'three', issB))).status, 401)
  t.same([a.fetches(), b.fetches()], [2, 2], 'B cools down: another unknown kid fetches nothing')
  t.equal((await verify(gw, token(b2, 'two', issA))).status, 401, 'A\'s kid "two" is A\'s key, not B\'s')
})

t.test('tokengate\'s own keys verify the first issuer\'s tokens, named jti and sid as tokengate mints them', async (t) => {
  const provider = await startOpenIdProvider(t, { claims: { uti: 'provider-token-id' } })
  const gw = await startGateway(t, {
    NODE_ENV: 'development',
    JWT_ALGORITHMS: 'HS256',
    JWT_SECRET: SECRET,
    JWT_ISSUERS: JSON.stringify([{ issuer: provider.issuer, discovery: true, audience: AUDIENCE, jti_claim: 'uti', session_claim: null }])
  })
  const fromProvider = await call(`${gw.url}/auth/token/validate`, { token: await provider.accessToken() })
  t.match(fromProvider.body, { jti: 'provider-token-id', sid: null }, 'the provider\'s tokens in its claim names')
  const own = sign({ claims: { iss: provider.issuer, aud: AUDIENCE, jti: 'own-token', sid: 'own-session' } })
  t.match((await call(`${gw.url}/auth/token/validate`, { token: own })).body, { jti: 'own-token', sid: 'own-session' }, 'tokengate\'s own in its own')
  const elsewhere = sign({ claims: { iss: 'https://idp.example.com', aud: AUDIENCE } })
  t.equal((await verify(gw, elsewhere)).status, 401, 'and only with the first issuer\'s iss')
})

t.test('access rules name the issuers they accept: a partner token with the right roles is refused there (403)', async (t) => {
  const customers = await startOpenIdProvider(t, { kid: KID, roles: ['payer'] })
  const partner = await startOpenIdProvider(t, { kid: KID, roles: ['payer'] })
  const rules = tempFile(t, 'rules.json', JSON.stringify([
    { method: 'POST', path: '/payments', roles: ['payer'], issuers: [customers.issuer] },
    { method: '*', path: '/partners', issuers: [partner.issuer] }
  ]))
  const gw = await startGateway(t, {
    NODE_ENV: 'development',
    JWT_SECRET: '',
    TRUSTED_PROXIES: '127.0.0.1',
    ACCESS_RULES_FILE: rules,
    JWT_ISSUERS: JSON.stringify([
      { issuer: customers.issuer, discovery: true, audience: AUDIENCE },
      { issuer: partner.issuer, discovery: true, audience: AUDIENCE }
    ])
  })
  const decide = async (token: string, method: string, uri: string): Promise<number> =>
    (await call(`${gw.url}/auth/verify`, { token, headers: { 'x-original-method': method, 'x-original-uri': uri } })).status
  const [own, other] = [await customers.accessToken(), await partner.accessToken()]
  t.equal(await decide(own, 'POST', '/payments'), 200, 'the customers\' issuer, with the role')
  t.equal(await decide(other, 'POST', '/payments'), 403, 'the same role from the partner issuer opens nothing there')
  t.equal(await decide(other, 'GET', '/partners/reports'), 200, 'a rule of issuers alone')
  t.equal(await decide(own, 'GET', '/partners/reports'), 403)
  t.equal(await decide(other, 'GET', '/accounts'), 200, 'no rule: any trusted issuer')
  const problems = configProblems({ JWT_SECRET: SECRET, JWT_ISSUER: customers.issuer, ACCESS_RULES_FILE: tempFile(t, 'typo.json', JSON.stringify([{ method: '*', path: '/x', issuers: [`${customers.issuer}/`] }])) })
  t.match(problems.join('\n'), /ACCESS_RULES_FILE: rule 0 .*"issuers" names .*not a trusted issuer/, 'an issuer that is not trusted (here a trailing /) stops start-up')
})
