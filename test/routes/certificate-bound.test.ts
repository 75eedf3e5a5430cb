import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { basic, call } from '../helpers/http.js'
import { testPki } from '../helpers/certificates.js'
import { sign } from '../helpers/tokens.js'

// The token and OAuth routes around certificate-bound tokens (RFC 8705 §3.2), and the RFC 9728 metadata.
const pki = testPki(t)
const client = pki.selfSigned('routes-client')
const SECRET_API = 'api-secret-api-secret-api-secret-0'

t.test('RFC 8705 §3.2: an introspection answer carries cnf with x5t#S256', async (t) => {
  const gw = await startGateway(t, { INTROSPECTION_CLIENTS: `api:${SECRET_API}` })
  const introspect = async (token: string): Promise<any> => (await call(`${gw.url}/oauth/introspect`, { method: 'POST', headers: { authorization: basic('api', SECRET_API) }, form: { token } })).body
  const bound = await introspect(sign({ claims: { cnf: { 'x5t#S256': client.thumbprint } } }))
  t.equal(bound.active, true)
  t.same(bound.cnf, { 'x5t#S256': client.thumbprint }, 'in its registered name (RFC 7800 §3.1)')
  t.equal(bound.token_type, 'Bearer', 'a certificate-bound token is still a Bearer token (RFC 8705 §3)')
  t.notOk('cnf' in await introspect(sign()), 'no cnf for an unbound token')
})

t.test('a refresh rotation copies cnf: the new pair stays bound to the certificate', async (t) => {
  const gw = await startGateway(t, { CLIENT_CERT_HEADER: 'rfc9440' })
  const refresh = sign({ claims: { sub: 'alice', sid: 's1', token_type: 'refresh', cnf: { 'x5t#S256': client.thumbprint } } })
  // RFC 8705 §4: the refresh token itself is used with its certificate (sender-constrained-routes.test.ts).
  const rotated = await call(`${gw.url}/auth/refresh`, { method: 'POST', json: { refresh_token: refresh }, headers: { 'client-cert': `:${client.derBase64}:` } })
  t.equal(rotated.status, 200)
  const payload = JSON.parse(Buffer.from(rotated.body.access_token.split('.')[1], 'base64url').toString())
  t.same(payload.cnf, { 'x5t#S256': client.thumbprint })
  const verify = async (headers: Record<string, string>): Promise<number> => (await call(`${gw.url}/auth/verify`, { token: rotated.body.access_token, headers })).status
  t.equal(await verify({ 'client-cert': `:${client.derBase64}:` }), 200, 'with its certificate')
  t.equal(await verify({}), 401, 'without it')
})

t.test('RFC 9728 §2: tls_client_certificate_bound_access_tokens only when a certificate source is configured', async (t) => {
  const plain = await startGateway(t, { RESOURCE_URL: 'https://api.example/' })
  t.notOk('tls_client_certificate_bound_access_tokens' in (await call(`${plain.url}/.well-known/oauth-protected-resource`)).body)
  const proxied = await startGateway(t, { RESOURCE_URL: 'https://api.example/', CLIENT_CERT_HEADER: 'envoy' })
  t.equal((await call(`${proxied.url}/.well-known/oauth-protected-resource`)).body.tls_client_certificate_bound_access_tokens, true)
})

t.test('a bound token at a gateway with no certificate source is refused, never accepted as a bearer token', async (t) => {
  const gw = await startGateway(t)
  const res = await call(`${gw.url}/auth/verify`, { token: sign({ claims: { cnf: { 'x5t#S256': client.thumbprint } } }) })
  t.equal(res.status, 401)
  t.match(res.body.error_description, /presented none/)
})
