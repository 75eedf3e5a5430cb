import t from 'tap'
import { connect } from 'node:tls'
import { Agent, fetch as undiciFetch } from 'undici'
import { parseMetrics, valueOf } from '../helpers/scrape.js'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { fetchOverTls, testPki, type CertificateFiles, type TlsAnswer } from '../helpers/certificates.js'
import { sign } from '../helpers/tokens.js'
import { startUpstream } from '../helpers/upstream.js'
import { until } from '../helpers/until.js'

// tokengate's own HTTPS listener in proxy mode, a real upstream behind it, clients with and
// without certificates: RFC 8705 §3 decided on the certificate of the TLS connection itself.
const pki = testPki(t)
const bound = pki.selfSigned('bound-client')
const stranger = pki.selfSigned('stranger')

async function get (gateway: Gateway, path: string, token: string, cert?: CertificateFiles): Promise<TlsAnswer> {
  return await fetchOverTls(`${gateway.url.replace('http:', 'https:')}${path}`, pki.ca, cert ?? null, { headers: { authorization: `Bearer ${token}` } })
}

async function gatewayWith (t: { teardown: (fn: () => unknown) => void }, clientCert: string): Promise<Gateway> {
  const upstream = await startUpstream(t)
  return await startGateway(t, {
    UPSTREAM_URL: upstream.url,
    TLS_CERT_FILE: pki.server.certFile,
    TLS_KEY_FILE: pki.server.keyFile,
    TLS_CLIENT_CERT: clientCert,
    TLS_CLIENT_CA_FILE: pki.ca.certFile,
    METRICS_ON_MAIN_PORT: 'true'
  })
}

const boundToken = (thumbprint: string): string => sign({ claims: { sub: 'alice', cnf: { 'x5t#S256': thumbprint } } })

t.test('TLS_CLIENT_CERT=request (RFC 8705 §2.2, self-signed): a certificate-bound token passes with its certificate only', async (t) => {
  const gateway = await gatewayWith(t, 'request')
  const token = boundToken(bound.thumbprint)
  const ok = await get(gateway, '/api/items', token, bound)
  t.equal(ok.status, 200, 'RFC 8705 §3: the thumbprint of the presented certificate matches cnf x5t#S256')
  t.equal(ok.body.headers['x-user-id'], 'alice', 'forwarded to the upstream with the identity')

  const other = await get(gateway, '/api/items', token, stranger)
  t.equal(other.status, 401, 'another certificate')
  t.equal(other.body.error, 'invalid_token')
  t.match(other.body.error_description, /another client certificate/)
  t.match(other.headers.get('www-authenticate'), /error="invalid_token"/)

  const none = await get(gateway, '/api/items', token)
  t.equal(none.status, 401, 'no certificate')
  t.match(none.body.error_description, /presented none/)

  t.equal((await get(gateway, '/api/items', sign({ claims: { sub: 'bob' } }))).status, 200, 'an unbound token needs no certificate')
  t.equal((await get(gateway, '/api/items', token, bound)).status, 200, 'the cached token is checked again, and passes again')
  t.equal((await get(gateway, '/api/items', token, stranger)).status, 401, 'and a cached token is refused again with another certificate')

  const res = await fetch(`${gateway.url}/metrics`).catch(() => null)
  t.equal(res, null, 'the listener speaks TLS only')
  const agent = new Agent({ connect: { ca: pki.ca.cert } })
  t.teardown(() => agent.close())
  const scrape = async (): Promise<ReturnType<typeof parseMetrics>> => parseMetrics(await (await undiciFetch(`${gateway.url.replace('http:', 'https:')}/metrics`, { dispatcher: agent })).text())
  const samples = await scrape()
  t.equal(valueOf(samples, 'tokengate_sender_constraint_failures_total', { binding: 'mtls', reason: 'certificate_mismatch' }), 2)
  t.equal(valueOf(samples, 'tokengate_sender_constraint_failures_total', { binding: 'mtls', reason: 'certificate_missing' }), 1)
  t.ok(await until(async () => valueOf(await scrape(), 'tokengate_security_alerts_total', { severity: 'HIGH', type: 'bound_token_without_certificate' }) === 1),
    'a bound token without its certificate raised one HIGH alert (once per token)')
})

t.test('TLS_CLIENT_CERT=require-ca (RFC 8705 §2.1): a certificate that does not chain to TLS_CLIENT_CA_FILE cannot connect', async (t) => {
  const gateway = await gatewayWith(t, 'require-ca')
  const token = boundToken(pki.caSigned.thumbprint)
  t.equal((await get(gateway, '/api/items', token, pki.caSigned)).status, 200, 'the CA-signed certificate bound in the token')
  await t.rejects(get(gateway, '/api/items', token, stranger), 'a self-signed certificate fails the handshake')
  await t.rejects(get(gateway, '/api/items', token), 'no certificate fails the handshake')
})

t.test('the listener speaks TLS 1.2 or later only', async (t) => {
  const gateway = await gatewayWith(t, 'request')
  const port = Number(new URL(gateway.url).port)
  // A client that would speak TLS 1.1 (security level 0 lets OpenSSL offer it): the server refuses.
  const error = await new Promise<Error>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca: pki.ca.cert, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' })
    socket.once('secureConnect', () => { socket.destroy(); resolve(new Error('connected')) })
    socket.once('error', resolve)
  })
  t.match(error.message, /protocol version|unsupported protocol|alert/i, 'TLS 1.1 refused by the server')
  const modern = await new Promise<string | null>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca: pki.ca.cert, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' })
    socket.once('secureConnect', () => { resolve(socket.getProtocol()); socket.destroy() })
    socket.once('error', () => resolve(null))
  })
  t.equal(modern, 'TLSv1.2', 'TLS 1.2 accepted')
})
