import { readFileSync } from 'node:fs'
import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { fetchOverTls, testPki, type CertificateFiles, type TlsAnswer } from '../helpers/certificates.js'
import { sign } from '../helpers/tokens.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { nginxMissing, startNginxSite, type Nginx } from './nginx.js'

// Real nginx terminating TLS with client certificates, passing the certificate and its
// verification status on the auth_request sub-request to tokengate (forward-auth mode,
// CLIENT_CERT_HEADER=nginx), a real upstream behind it: RFC 8705 §3 through a trusted proxy.
const skip = nginxMissing
const pki = testPki(t)
const selfSigned = pki.selfSigned('nginx-client')
const stranger = pki.selfSigned('nginx-stranger')

function site (listen: number, tokengate: number, api: number, verifyClient: string): string {
  return `
upstream tokengate { server 127.0.0.1:${tokengate}; keepalive 8; }
server {
  listen 127.0.0.1:${listen} ssl;
  ssl_certificate ${pki.server.certFile};
  ssl_certificate_key ${pki.server.keyFile};
  ssl_client_certificate ${pki.ca.certFile};
  ssl_verify_client ${verifyClient};

  location = /_tokengate {
    internal;
    proxy_pass http://tokengate/auth/verify;
    proxy_pass_request_body off;
    proxy_set_header Content-Length "";
    proxy_set_header X-Original-URI $request_uri;
    proxy_set_header X-Original-Method $request_method;
    proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;
    proxy_set_header X-SSL-Client-Verify $ssl_client_verify;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
  }
  location / {
    auth_request /_tokengate;
    auth_request_set $user_id $upstream_http_x_user_id;
    proxy_set_header X-User-Id $user_id;
    proxy_set_header X-SSL-Client-Cert "";
    proxy_set_header X-SSL-Client-Verify "";
    proxy_pass http://127.0.0.1:${api};
  }
}
`
}

interface Stack { readonly nginx: Nginx, readonly api: Upstream }

async function stack (t: { teardown: (fn: () => unknown) => void }, verifyClient: string, certVerify: string): Promise<Stack> {
  const gw = await startGateway(t, { CLIENT_CERT_HEADER: 'nginx', CLIENT_CERT_VERIFY: certVerify })
  const api = await startUpstream(t)
  const nginx = await startNginxSite(t, (listen) => site(listen, Number(new URL(gw.url).port), api.port, verifyClient), 'https')
  return { nginx, api }
}

async function get (nginx: Nginx, token: string, cert?: CertificateFiles, headers: Record<string, string> = {}): Promise<TlsAnswer> {
  return await fetchOverTls(`${nginx.url}/accounts/42`, pki.ca, cert ?? null, { headers: { authorization: `Bearer ${token}`, ...headers } })
}

t.test('ssl_verify_client optional_no_ca (RFC 8705 §2.2 self-signed) with CLIENT_CERT_VERIFY=present', { skip }, async (t) => {
  const { nginx, api } = await stack(t, 'optional_no_ca', 'present')
  const token = sign({ claims: { sub: 'alice', cnf: { 'x5t#S256': selfSigned.thumbprint } } })
  const ok = await get(nginx, token, selfSigned)
  t.equal(ok.status, 200, 'RFC 8705 §3: the certificate bound in the token')
  t.equal(ok.body.headers['x-user-id'], 'alice')
  t.notOk('x-ssl-client-cert' in ok.body.headers, 'the certificate header never reaches the API')
  t.equal((await get(nginx, token, stranger)).status, 401, 'another certificate')
  t.equal((await get(nginx, token)).status, 401, 'no certificate ($ssl_client_verify NONE)')
  t.equal((await get(nginx, token, undefined, { 'x-ssl-client-cert': encodeURIComponent(selfSigned.cert), 'x-ssl-client-verify': 'SUCCESS' })).status, 401,
    'a client\'s own copy of the headers, without the certificate\'s key: nginx replaces them')
  t.equal((await get(nginx, sign({ claims: { sub: 'bob' } }))).status, 200, 'an unbound token needs no certificate')
  t.equal(api.seen.length, 2)
})

t.test('ssl_verify_client optional_no_ca with the default CLIENT_CERT_VERIFY=success: an unverified certificate binds nothing', { skip }, async (t) => {
  const { nginx } = await stack(t, 'optional_no_ca', 'success')
  const token = sign({ claims: { sub: 'alice', cnf: { 'x5t#S256': selfSigned.thumbprint } } })
  t.equal((await get(nginx, token, selfSigned)).status, 401, '$ssl_client_verify FAILED:… is not SUCCESS')
  const caToken = sign({ claims: { sub: 'carol', cnf: { 'x5t#S256': pki.caSigned.thumbprint } } })
  t.equal((await get(nginx, caToken, pki.caSigned)).status, 200, 'a CA-verified certificate (SUCCESS) binds')
})

t.test('ssl_verify_client on (RFC 8705 §2.1 PKI): the CA-signed certificate bound in the token', { skip }, async (t) => {
  const { nginx } = await stack(t, 'on', 'success')
  const token = sign({ claims: { sub: 'carol', cnf: { 'x5t#S256': pki.caSigned.thumbprint } } })
  const ok = await get(nginx, token, pki.caSigned)
  t.equal(ok.status, 200)
  t.equal(ok.body.headers['x-user-id'], 'carol')
  t.equal((await get(nginx, token, stranger)).status, 400, 'nginx itself refuses a certificate outside its CA')
})

t.test('the shipped nginx config never passes a client\'s own certificate headers to tokengate', async (t) => {
  const conf = readFileSync(new URL('../../deploy/nginx/tokengate.conf', import.meta.url), 'utf8')
  const verify = /location = \/_tokengate_verify \{[\s\S]*?\n {4}\}/.exec(conf)?.[0] ?? ''
  t.match(verify, /\n\s+proxy_set_header X-SSL-Client-Cert "";/)
  t.match(verify, /\n\s+proxy_set_header X-SSL-Client-Verify "";/)
})
