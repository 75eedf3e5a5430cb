import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { fetchOverTls, testPki, type CertificateFiles, type TlsAnswer } from '../helpers/certificates.js'
import { sign } from '../helpers/tokens.js'
import { startUpstream } from '../helpers/upstream.js'
import { caddyMissing, startCaddy, startCaddySite, type Caddy } from './caddy.js'

// Real Caddy terminating TLS with client certificates (client_auth mode request: self-signed,
// RFC 8705 §2.2) and passing the certificate as an RFC 9440 Client-Cert byte sequence on its
// forward_auth sub-request to tokengate (CLIENT_CERT_HEADER=rfc9440), a real upstream behind it.
// With client_auth Caddy checks that the SNI names the site (421 otherwise): the site is localhost.
const skip = caddyMissing
const pki = testPki(t)
const holder = pki.selfSigned('caddy-client')
const stranger = pki.selfSigned('caddy-stranger')

function caddyfile (listen: number, tokengate: number, api: number): string {
  return `{
  admin off
  auto_https off
}
https://localhost:${listen} {
  bind 127.0.0.1
  tls ${pki.server.certFile} ${pki.server.keyFile} {
    client_auth {
      mode request
    }
  }
  # A client's own copy never reaches tokengate nor the API.
  request_header -Client-Cert
  forward_auth 127.0.0.1:${tokengate} {
    uri /auth/verify
    header_up Client-Cert ":{http.request.tls.client.certificate_der_base64}:"
    copy_headers X-User-Id
  }
  reverse_proxy 127.0.0.1:${api}
}
`
}

async function get (caddy: Caddy, token: string, cert?: CertificateFiles, headers: Record<string, string> = {}): Promise<TlsAnswer> {
  return await fetchOverTls(`${caddy.url.replace('127.0.0.1', 'localhost')}/accounts/42`, pki.ca, cert ?? null, { headers: { authorization: `Bearer ${token}`, ...headers } })
}

t.test('Caddy client_auth mode request, RFC 9440 Client-Cert on forward_auth: RFC 8705 §3', { skip }, async (t) => {
  const gw = await startGateway(t, { CLIENT_CERT_HEADER: 'rfc9440' })
  const api = await startUpstream(t)
  const caddy = await startCaddySite(t, (listen) => caddyfile(listen, Number(new URL(gw.url).port), api.port), 'https')
  const token = sign({ claims: { sub: 'alice', cnf: { 'x5t#S256': holder.thumbprint } } })
  const ok = await get(caddy, token, holder)
  t.equal(ok.status, 200, 'the certificate bound in the token')
  t.equal(ok.body.headers['x-user-id'], 'alice')
  t.notOk('client-cert' in ok.body.headers, 'the API never sees Client-Cert')
  t.equal((await get(caddy, token, stranger)).status, 401, 'another certificate')
  t.equal((await get(caddy, token)).status, 401, 'no certificate (Caddy sends its placeholder unreplaced)')
  t.equal((await get(caddy, token, undefined, { 'client-cert': `:${holder.derBase64}:` })).status, 401, 'a client\'s own Client-Cert, without the key')
  t.equal((await get(caddy, sign({ claims: { sub: 'bob' } }))).status, 200, 'an unbound token without a certificate')
})

t.test('the shipped Caddyfile never passes a client\'s own Client-Cert to tokengate (a forged certificate header)', { skip }, async (t) => {
  const gw = await startGateway(t, { CLIENT_CERT_HEADER: 'rfc9440' })
  const api = await startUpstream(t)
  const caddy = await startCaddy(t, { tokengate: Number(new URL(gw.url).port), api: api.port })
  const token = sign({ claims: { sub: 'alice', cnf: { 'x5t#S256': holder.thumbprint } } })
  const forged = await fetch(`${caddy.url}/accounts/42`, { headers: { authorization: `Bearer ${token}`, 'client-cert': `:${holder.derBase64}:` } })
  t.equal(forged.status, 401, 'the holder\'s public certificate, sent as a header by whoever has the token')
  t.equal(api.seen.length, 0)
})
