import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { testPki } from '../helpers/certificates.js'
import { sign } from '../helpers/tokens.js'
import { startUpstream } from '../helpers/upstream.js'

// A proxy in TRUSTED_PROXIES terminated TLS and passes the client certificate in its header
// (RFC 8705 §3 through a trusted proxy); from anyone else the same header is no certificate.
const pki = testPki(t)
const client = pki.selfSigned('fa-client')
const other = pki.selfSigned('fa-other')
const token = sign({ claims: { sub: 'alice', cnf: { 'x5t#S256': client.thumbprint } } })
const hex = (thumbprint: string): string => Buffer.from(thumbprint, 'base64url').toString('hex')

const FORMATS = [
  { format: 'rfc9440', headers: (c: typeof client) => ({ 'client-cert': `:${c.derBase64}:` }) },
  { format: 'nginx', headers: (c: typeof client) => ({ 'x-ssl-client-cert': encodeURIComponent(c.cert), 'x-ssl-client-verify': 'SUCCESS' }) },
  { format: 'envoy', headers: (c: typeof client) => ({ 'x-forwarded-client-cert': `By=spiffe://cluster.local/ns/default/sa/api;Hash=${hex(c.thumbprint)};Subject="CN=fa-client"` }) },
  { format: 'traefik', headers: (c: typeof client) => ({ 'x-forwarded-tls-client-cert': encodeURIComponent(c.derBase64) }) }
] as const

for (const { format, headers } of FORMATS) {
  t.test(`CLIENT_CERT_HEADER=${format}: RFC 8705 §3 through forward-auth from a trusted proxy`, async (t) => {
    const gateway = await startGateway(t, { CLIENT_CERT_HEADER: format })
    const verify = async (extra: Record<string, string>): Promise<Awaited<ReturnType<typeof call>>> =>
      await call(`${gateway.url}/auth/verify`, { token, headers: { 'x-original-uri': '/api/items', 'x-original-method': 'GET', ...extra } })
    const ok = await verify(headers(client))
    t.equal(ok.status, 200, 'the bound certificate')
    t.equal(ok.headers.get('x-user-id'), 'alice')
    const mismatch = await verify(headers(other))
    t.equal(mismatch.status, 401, 'another certificate')
    t.equal(mismatch.body.error, 'invalid_token')
    t.match(mismatch.body.error_description, /another client certificate/)
    const missing = await verify({})
    t.equal(missing.status, 401, 'no certificate header')
    t.match(missing.body.error_description, /presented none/)
  })
}

t.test('a malformed certificate header from the trusted proxy is a 400 naming it, never a 5xx', async (t) => {
  const gateway = await startGateway(t, { CLIENT_CERT_HEADER: 'rfc9440' })
  const res = await call(`${gateway.url}/auth/verify`, { token, headers: { 'client-cert': ':not*base64:' } })
  t.equal(res.status, 400)
  t.equal(res.body.error, 'invalid_request')
  t.match(res.body.error_description, /Client-Cert/)
  t.equal((await call(`${gateway.url}/auth/verify`, { token: sign({ claims: { sub: 'bob' } }), headers: { 'client-cert': ':not*base64:' } })).status, 200,
    'an unbound token never reads it')
})

t.test('nginx: a certificate without $ssl_client_verify SUCCESS is no certificate (a client can forge the header; certificates are public)', async (t) => {
  const gateway = await startGateway(t, { CLIENT_CERT_HEADER: 'nginx' })
  const cert = { 'x-ssl-client-cert': encodeURIComponent(client.cert) }
  t.equal((await call(`${gateway.url}/auth/verify`, { token, headers: cert })).status, 401, 'no verification status')
  t.equal((await call(`${gateway.url}/auth/verify`, { token, headers: { ...cert, 'x-ssl-client-verify': 'NONE' } })).status, 401, 'NONE')
  t.equal((await call(`${gateway.url}/auth/verify`, { token, headers: { ...cert, 'x-ssl-client-verify': 'FAILED:self-signed certificate' } })).status, 401, 'FAILED under the default CLIENT_CERT_VERIFY=success')
})

t.test('the certificate headers of a peer outside TRUSTED_PROXIES are ignored (forged)', async (t) => {
  const gateway = await startGateway(t, { CLIENT_CERT_HEADER: 'rfc9440', TRUSTED_PROXIES: '192.0.2.10' })
  const res = await call(`${gateway.url}/auth/verify`, { token, headers: { 'client-cert': `:${client.derBase64}:` } })
  t.equal(res.status, 401, 'the right certificate, from an untrusted peer: no certificate')
  t.match(res.body.error_description, /presented none/)
})

t.test('forward-auth refuses a certificate header spelled with underscores (the proxy would pass it on)', async (t) => {
  const gateway = await startGateway(t, { CLIENT_CERT_HEADER: 'nginx' })
  const res = await call(`${gateway.url}/auth/verify`, { token, headers: { x_ssl_client_cert: encodeURIComponent(client.cert) } })
  t.equal(res.status, 400)
  t.match(res.body.error_description, /underscores/)
})

t.test('proxy mode: an untrusted client\'s certificate headers are never believed nor forwarded upstream', async (t) => {
  const upstream = await startUpstream(t)
  const gateway = await startGateway(t, { UPSTREAM_URL: upstream.url, CLIENT_CERT_HEADER: 'envoy', TRUSTED_PROXIES: '192.0.2.10' })
  const forged = {
    'x-forwarded-client-cert': `Hash=${hex(client.thumbprint)}`,
    'client-cert': `:${client.derBase64}:`,
    'x-ssl-client-cert': encodeURIComponent(client.cert),
    'x-ssl-client-verify': 'SUCCESS',
    'x-forwarded-tls-client-cert': client.derBase64
  }
  t.equal((await call(`${gateway.url}/api/items`, { token, headers: forged })).status, 401, 'the bound token is refused: no certificate')
  const res = await call(`${gateway.url}/api/items`, { token: sign({ claims: { sub: 'bob' } }), headers: forged })
  t.equal(res.status, 200)
  for (const name of Object.keys(forged)) t.notOk(name in res.body.headers, `${name} stripped before the upstream`)
})

t.test('proxy mode behind a trusted proxy: its certificate header decides and is passed on', async (t) => {
  const upstream = await startUpstream(t)
  const gateway = await startGateway(t, { UPSTREAM_URL: upstream.url, CLIENT_CERT_HEADER: 'rfc9440' })
  const res = await call(`${gateway.url}/api/items`, { token, headers: { 'client-cert': `:${client.derBase64}:` } })
  t.equal(res.status, 200)
  t.equal(res.body.headers['client-cert'], `:${client.derBase64}:`)
})
