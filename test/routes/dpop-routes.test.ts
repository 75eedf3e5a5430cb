import t from 'tap'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { basic, call, type JsonResponse } from '../helpers/http.js'
import { boundToken, dpopKey, proof, thumbprint, type DpopKey } from '../helpers/dpop.js'
import { sign } from '../helpers/tokens.js'

const ORIGIN = 'https://api.example'
const CLIENT_SECRET = 'introspection-secret-of-at-least-32-bytes'

// RESOURCE_URL's origin is the default DPOP_ORIGINS.
const gateway = startGateway(t, { DPOP: 'true', RESOURCE_URL: `${ORIGIN}/`, INTROSPECTION_CLIENTS: `rs:${CLIENT_SECRET}` })

async function withProof (gw: Gateway, key: DpopKey, method: string, path: string, token: string, init: { json?: unknown, scheme?: string, noAth?: boolean } = {}): Promise<JsonResponse> {
  const p = proof(key, { htm: method, htu: `${ORIGIN}${path}`, ...(init.noAth !== true && { token }) })
  return await call(`${gw.url}${path}`, { method, headers: { authorization: `${init.scheme ?? 'DPoP'} ${token}`, dpop: p }, ...(init.json !== undefined && { json: init.json }) })
}

function payloadOf (token: string): Record<string, any> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString())
}

t.test('RFC 9449 §7 on the token routes: validate accepts a bound token with its proof, refuses it without', async (t) => {
  const gw = await gateway
  const key = dpopKey()
  const token = boundToken(key)
  t.equal((await withProof(gw, key, 'GET', '/auth/token/validate', token)).status, 200)
  t.equal((await call(`${gw.url}/auth/token/validate`, { headers: { authorization: `DPoP ${token}` } })).status, 401, 'no proof (§7.1)')
  t.equal((await withProof(gw, key, 'GET', '/auth/token/validate', token, { scheme: 'Bearer' })).status, 401, 'as Bearer (§7.2)')
  t.equal((await withProof(gw, dpopKey(), 'GET', '/auth/token/validate', token)).status, 401, 'another key (§6.1)')
})

t.test('RFC 9449 §7: logout and revoke accept a bound token with a valid proof, which is then refused', async (t) => {
  const gw = await gateway
  const key = dpopKey()
  const token = boundToken(key)
  t.equal((await withProof(gw, key, 'POST', '/auth/logout', token, { json: {} })).status, 200, 'logout')
  t.equal((await withProof(gw, key, 'GET', '/auth/token/validate', token)).status, 401, 'revoked')
  const other = boundToken(key)
  t.equal((await withProof(gw, key, 'POST', '/auth/revoke', other, { json: {} })).status, 200, 'revoke')
  const after = await withProof(gw, key, 'GET', '/auth/token/validate', other)
  t.equal(after.body.error_description, 'The token has been revoked')
})

t.test('RFC 9449 §5: /auth/refresh needs a proof of the key a bound refresh token is bound to; the new pair stays bound', async (t) => {
  const gw = await gateway
  const key = dpopKey()
  const refresh = sign({ claims: { token_type: 'refresh', cnf: { jkt: key.jkt } } })
  const body = { refresh_token: refresh }
  const bare = await call(`${gw.url}/auth/refresh`, { method: 'POST', json: body })
  t.equal(bare.status, 401, 'no proof')
  t.equal(bare.body.error, 'invalid_dpop_proof')
  const thief = dpopKey()
  const stolen = await call(`${gw.url}/auth/refresh`, { method: 'POST', json: body, headers: { dpop: proof(thief, { htm: 'POST', htu: `${ORIGIN}/auth/refresh` }) } })
  t.equal(stolen.status, 401, 'a proof of another key')
  const ok = await call(`${gw.url}/auth/refresh`, { method: 'POST', json: body, headers: { dpop: proof(key, { htm: 'POST', htu: `${ORIGIN}/auth/refresh` }) } })
  t.equal(ok.status, 200, 'the refresh token was not spent by the refusals')
  t.equal(ok.body.token_type, 'DPoP')
  t.same(payloadOf(ok.body.access_token).cnf, { jkt: key.jkt }, 'rotation copies cnf into the access token')
  t.same(payloadOf(ok.body.refresh_token).cnf, { jkt: key.jkt }, 'and into the refresh token')
  t.equal((await withProof(gw, key, 'GET', '/auth/token/validate', ok.body.access_token)).status, 200, 'the new access token works with a proof')
  const unbound = await call(`${gw.url}/auth/refresh`, { method: 'POST', json: { refresh_token: sign({ claims: { token_type: 'refresh' } }) } })
  t.equal(unbound.status, 200, 'an unbound refresh token needs no proof')
  t.equal(unbound.body.token_type, 'Bearer')
})

t.test('RFC 9449 §5 with RFC 9700 §4.14.2: a spent DPoP-bound refresh token counts as reused only with a proof of its key', async (t) => {
  const gw = await gateway
  const key = dpopKey()
  const refresh = sign({ claims: { sid: `s-${key.jkt}`, token_type: 'refresh', cnf: { jkt: key.jkt } } })
  const refreshWith = async (signer: DpopKey | null): Promise<JsonResponse> => await call(`${gw.url}/auth/refresh`, {
    method: 'POST',
    json: { refresh_token: refresh },
    headers: signer === null ? {} : { dpop: proof(signer, { htm: 'POST', htu: `${ORIGIN}/auth/refresh` }) }
  })
  const rotated = await refreshWith(key)
  t.equal(rotated.status, 200)
  const stillValid = async (): Promise<number> => (await withProof(gw, key, 'GET', '/auth/token/validate', rotated.body.access_token)).status
  t.equal((await refreshWith(null)).body.error, 'invalid_dpop_proof', 'the spent token without a proof')
  t.equal((await refreshWith(dpopKey())).status, 401, 'with a proof of another key')
  t.equal(await stillValid(), 200, 'a copy without the key ends no session')
  t.match((await refreshWith(key)).body.error_description, /revoked/, 'with its key: reuse')
  t.equal(await stillValid(), 401, 'the session was revoked')
})

t.test('RFC 7662 §2.2 with RFC 9449 §6.2: introspection carries cnf and token_type DPoP', async (t) => {
  const gw = await gateway
  const key = dpopKey()
  const res = await call(`${gw.url}/oauth/introspect`, { method: 'POST', form: { token: boundToken(key) }, headers: { authorization: basic('rs', CLIENT_SECRET) } })
  t.equal(res.status, 200)
  t.equal(res.body.active, true)
  t.same(res.body.cnf, { jkt: thumbprint(key.publicJwk) })
  t.equal(res.body.token_type, 'DPoP')
  const plain = await call(`${gw.url}/oauth/introspect`, { method: 'POST', form: { token: sign() }, headers: { authorization: basic('rs', CLIENT_SECRET) } })
  t.equal(plain.body.token_type, 'Bearer')
  t.equal(plain.body.cnf, undefined)
})

t.test('RFC 9728 §2: the resource metadata names the DPoP algorithms', async (t) => {
  const gw = await gateway
  const res = await call(`${gw.url}/.well-known/oauth-protected-resource`)
  t.equal(res.status, 200)
  t.same(res.body.dpop_signing_alg_values_supported, ['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512', 'EdDSA', 'Ed25519'])
  t.equal(res.body.dpop_bound_access_tokens_required, false, 'bearer tokens are accepted too')
})

t.test('RFC 7800 §3.1: a cnf tokengate cannot check makes the token unusable, never a bearer token', async (t) => {
  const gw = await gateway
  for (const cnf of [{ jwk: { kty: 'EC' } }, { jkt: 42 }, 'abc', null, { jkt: '' }]) {
    const res = await call(`${gw.url}/auth/token/validate`, { token: sign({ claims: { cnf } }) })
    t.equal(res.status, 401, JSON.stringify(cnf))
  }
})
