import t from 'tap'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { sign } from '../helpers/tokens.js'
import { startUpstream } from '../helpers/upstream.js'

// src/decision (authenticator.ts, bearer.ts): from an Authorization header to a decision, over real
// HTTP in both modes: forward-auth answers /auth/verify, proxy mode guards every upstream path.

interface Mode { readonly gw: Gateway, readonly target: string }
type Teardown = Parameters<typeof startGateway>[0]

const MODES: ReadonlyArray<readonly [string, (t: Teardown, env?: Record<string, string>) => Promise<Mode>]> = [
  ['forward-auth', async (t, env = {}) => {
    const gw = await startGateway(t, env)
    return { gw, target: `${gw.url}/auth/verify` }
  }],
  ['proxy', async (t, env = {}) => {
    const upstream = await startUpstream(t)
    const gw = await startGateway(t, { ...env, UPSTREAM_URL: upstream.url })
    return { gw, target: `${gw.url}/accounts/1` }
  }]
]

for (const [mode, start] of MODES) {
  t.test(`${mode}: RFC 6750 §2.1: the scheme in any letter case and one or more spaces are a bearer token`, async (t) => {
    const { target } = await start(t)
    const token = sign()
    for (const header of [`Bearer ${token}`, `bearer ${token}`, `BEARER   ${token}`]) {
      t.equal((await call(target, { headers: { authorization: header } })).status, 200, header.slice(0, 9))
    }
  })

  t.test(`${mode}: an Authorization header that is not "Bearer <b64token>" (RFC 6750 §2.1): 400 invalid_request`, async (t) => {
    const { target } = await start(t)
    const token = sign()
    for (const header of ['Bearer not a token', 'Basic abc', 'Bearer', 'bearer  a b', 'Token abc.def.ghi', `Bearer ${token}, Bearer ${token}`, `Bearer "${token}"`]) {
      const res = await call(target, { headers: { authorization: header } })
      t.equal(res.status, 400, header.slice(0, 20))
      t.equal(res.body.error, 'invalid_request')
      t.match(res.headers.get('www-authenticate'), /error="invalid_request"/)
    }
  })

  t.test(`${mode}: a token over MAX_TOKEN_BYTES is refused as too large before it is parsed: 400 invalid_request`, async (t) => {
    const { target } = await start(t, { MAX_TOKEN_BYTES: '512' })
    const large = sign({ claims: { padding: 'x'.repeat(600) } })
    const res = await call(target, { token: large })
    t.equal(res.status, 400)
    t.same(res.body, { error: 'invalid_request', error_description: 'The bearer token is too large' })
    t.equal((await call(target, { token: sign() })).status, 200, 'a token within the limit passes')
  })

  t.test(`${mode}: an invalid token: 401 invalid_token, and neither body nor challenge echoes the token`, async (t) => {
    const { target } = await start(t)
    const forged = sign({ key: 'forged-secret-forged-secret-forged-secret' })
    const res = await call(target, { token: forged })
    t.equal(res.status, 401)
    t.match(res.headers.get('www-authenticate'), /^Bearer realm="tokengate", error="invalid_token", error_description="/)
    t.equal(res.body.error, 'invalid_token')
    for (const part of forged.split('.')) {
      t.notMatch(res.text, part)
      t.notMatch(res.headers.get('www-authenticate') ?? '', part)
    }
  })

  t.test(`${mode}: a refresh token is no access token: 401 invalid_token`, async (t) => {
    const { target } = await start(t)
    const res = await call(target, { token: sign({ claims: { token_type: 'refresh' } }) })
    t.equal(res.status, 401)
    t.same(res.body, { error: 'invalid_token', error_description: 'A refresh token cannot be used here' })
  })

  t.test(`${mode}: revocation is checked after the signature and never skipped for a token verified before`, async (t) => {
    const { gw, target } = await start(t)
    const jti = `jti-${mode}`
    const token = sign({ claims: { jti } })
    t.equal((await call(target, { token })).status, 200)
    t.equal((await call(target, { token })).status, 200, 'verified twice: the verified-token cache holds it')
    t.equal((await call(`${gw.url}/auth/logout`, { method: 'POST', token })).status, 200)
    const revoked = await call(target, { token })
    t.equal(revoked.status, 401)
    t.same(revoked.body, { error: 'invalid_token', error_description: 'The token has been revoked' }, 'the cache did not hide the revocation')
    const forged = await call(target, { token: sign({ key: 'forged-secret-forged-secret-forged-secret', claims: { jti } }) })
    t.same(forged.body, { error: 'invalid_token', error_description: 'The token signature is invalid' },
      'a forged token naming the revoked jti is refused for its signature: an unverified jti is never looked up')
  })
}
