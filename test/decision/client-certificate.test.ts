import fc from 'fast-check'
import t from 'tap'
import { CLIENT_CERT_FORMATS, CLIENT_CERT_HEADERS, CLIENT_VERIFY_HEADER, headerThumbprint } from '../../src/decision/client-certificate.js'
import { isFailure } from '../../src/errors.js'
import { testPki } from '../helpers/certificates.js'

const pki = testPki(t)
const client = pki.selfSigned('parser-client')
const other = pki.selfSigned('parser-other')
const escapedPem = encodeURIComponent(client.cert)
const hexHash = Buffer.from(client.thumbprint, 'base64url').toString('hex')

t.test('RFC 9440 §2.2 Client-Cert: a structured-field byte sequence of the DER', async (t) => {
  t.equal(headerThumbprint({ 'client-cert': `:${client.derBase64}:` }, 'rfc9440', 'success'), client.thumbprint)
  t.ok(isFailure(headerThumbprint({ 'client-cert': client.derBase64 }, 'rfc9440', 'success')), 'without the colons: not an sf-binary')
  t.ok(isFailure(headerThumbprint({ 'client-cert': `:${client.derBase64.slice(0, -8)}:` }, 'rfc9440', 'success')), 'truncated DER')
  t.equal(headerThumbprint({}, 'rfc9440', 'success'), null, 'no header: no certificate')
  t.equal(headerThumbprint({ 'client-cert': '::' }, 'rfc9440', 'success'), null, 'an empty byte sequence: no certificate (a placeholder for a client without one)')
  t.equal(headerThumbprint({ 'client-cert': ':{http.request.tls.client.certificate_der_base64}:' }, 'rfc9440', 'success'), null, 'Caddy\'s placeholder left unreplaced: no certificate')
})

t.test('nginx $ssl_client_escaped_cert is believed only beside $ssl_client_verify', async (t) => {
  const cert = { 'x-ssl-client-cert': escapedPem }
  t.equal(headerThumbprint({ ...cert, [CLIENT_VERIFY_HEADER]: 'SUCCESS' }, 'nginx', 'success'), client.thumbprint)
  t.equal(headerThumbprint(cert, 'nginx', 'success'), null, 'no verification status: not the proxy\'s word')
  t.equal(headerThumbprint({ ...cert, [CLIENT_VERIFY_HEADER]: 'NONE' }, 'nginx', 'present'), null, 'NONE: no certificate was presented')
  t.equal(headerThumbprint({ ...cert, [CLIENT_VERIFY_HEADER]: 'FAILED:self-signed certificate' }, 'nginx', 'success'), null, 'FAILED under CLIENT_CERT_VERIFY=success')
  t.equal(headerThumbprint({ ...cert, [CLIENT_VERIFY_HEADER]: 'FAILED:self-signed certificate' }, 'nginx', 'present'), client.thumbprint, 'optional_no_ca under CLIENT_CERT_VERIFY=present (RFC 8705 §2.2)')
  t.ok(isFailure(headerThumbprint({ 'x-ssl-client-cert': '%E0%A4%A', [CLIENT_VERIFY_HEADER]: 'SUCCESS' }, 'nginx', 'success')), 'a broken escape')
})

t.test('Envoy X-Forwarded-Client-Cert (SANITIZE_SET): its one element', async (t) => {
  const forged = `Hash=${Buffer.from(other.thumbprint, 'base64url').toString('hex')};Subject="CN=x, O=y"`
  t.equal(headerThumbprint({ 'x-forwarded-client-cert': `By=spiffe://a;Hash=${hexHash};Cert="${escapedPem}";Subject="CN=parser-client"` }, 'envoy', 'success'), client.thumbprint, 'Cert')
  t.equal(headerThumbprint({ 'x-forwarded-client-cert': `By=spiffe://a;Hash=${hexHash}` }, 'envoy', 'success'), client.thumbprint, 'Hash (hex SHA-256) when no Cert')
  t.ok(isFailure(headerThumbprint({ 'x-forwarded-client-cert': `${forged},By=spiffe://a;Cert="${escapedPem}"` }, 'envoy', 'success')), 'two elements (APPEND_FORWARD): which is the client\'s is unknown')
  t.ok(isFailure(headerThumbprint({ 'x-forwarded-client-cert': 'By=spiffe://a;Subject="CN=x' }, 'envoy', 'success')), 'an open quote')
  t.ok(isFailure(headerThumbprint({ 'x-forwarded-client-cert': 'Hash=abc' }, 'envoy', 'success')), 'a Hash that is no SHA-256')
})

t.test('Traefik X-Forwarded-Tls-Client-Cert: base64 DER, URL-escaped, leaf first', async (t) => {
  t.equal(headerThumbprint({ 'x-forwarded-tls-client-cert': encodeURIComponent(client.derBase64) }, 'traefik', 'success'), client.thumbprint)
  t.equal(headerThumbprint({ 'x-forwarded-tls-client-cert': `${encodeURIComponent(client.derBase64)},${encodeURIComponent(pki.ca.derBase64)}` }, 'traefik', 'success'), client.thumbprint, 'the leaf of a chain')
  t.ok(isFailure(headerThumbprint({ 'x-forwarded-tls-client-cert': 'not base64!' }, 'traefik', 'success')))
})

t.test('a repeated or oversized certificate header is refused unparsed', async (t) => {
  t.ok(isFailure(headerThumbprint({ 'client-cert': [`:${client.derBase64}:`, `:${other.derBase64}:`] }, 'rfc9440', 'success')))
  t.ok(isFailure(headerThumbprint({ 'client-cert': `:${'A'.repeat(40_000)}:` }, 'rfc9440', 'success')))
})

t.test('hostile header values: every parser answers a thumbprint, null or a 400, never throws', async (t) => {
  const hostile = fc.oneof(
    fc.string({ maxLength: 300 }),
    fc.string({ unit: fc.constantFrom(':', ';', ',', '"', '\\', '=', '%', '-', 'A', '+', '/', ' ', 'Hash', 'Cert', '\u0000', '\uD800'), maxLength: 200 }),
    fc.constantFrom(`:${client.derBase64}`, `${escapedPem}%`, `Cert="${escapedPem}`, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----', ':=:', ',,,', 'Hash=;Cert=')
  )
  fc.assert(fc.property(fc.constantFrom(...CLIENT_CERT_FORMATS), hostile, fc.constantFrom('SUCCESS', 'NONE', 'FAILED:x'), (format, value, status) => {
    const answer = headerThumbprint({ [CLIENT_CERT_HEADERS[format]]: value, [CLIENT_VERIFY_HEADER]: status }, format, 'present')
    if (answer === null) return true
    // The refusal names the header, never echoes its value.
    if (isFailure(answer)) return answer.status === 400 && (value.trim().length < 12 || !answer.description.includes(value.trim()))
    return /^[A-Za-z0-9_-]{43}$/.test(answer)
  }), { numRuns: 3000 })
  t.pass('3000 hostile values')
})

t.test('Envoy: whatever a client sends before the element Envoy writes, and whatever its certificate\'s Subject and URI SAN hold, the Hash read is Envoy\'s or none', async (t) => {
  // APPEND_FORWARD appends `,By=…;Hash=…;Subject="…";URI=…` to a client's own header; the client
  // chose its (self-signed, RFC 8705 §2.2) certificate, so its Subject and URI SAN too, which
  // Envoy writes quoted without escapes and unquoted.
  const victim = Buffer.from(other.thumbprint, 'base64url').toString('hex')
  const piece = fc.constantFrom('"', '\\', ',', ';', '=', ' ', 'Hash', 'Cert', 'X', 'Subject', victim, `Hash=${victim}`)
  const prefix = fc.array(piece, { maxLength: 12 }).map((pieces) => pieces.join(''))
  const chosen = fc.array(fc.constantFrom('"', '\\', ',', ';', '=', 'CN', 'x', `Hash=${victim}`), { maxLength: 6 }).map((pieces) => pieces.join(''))
  const escaped = (text: string): string => text.replace(/["\\]/g, (c) => `\\${c}`)
  fc.assert(fc.property(prefix, chosen, chosen, fc.boolean(), fc.boolean(), (sent, subject, uri, withCert, escape) => {
    const appended = `By=spiffe://edge;Hash=${hexHash}${withCert ? `;Cert="${escapedPem}"` : ''};Subject="${escape ? escaped(subject) : subject}";URI=${uri}`
    const answer = headerThumbprint({ 'x-forwarded-client-cert': sent === '' ? appended : `${sent},${appended}` }, 'envoy', 'success')
    return answer === client.thumbprint || isFailure(answer)
  }), { numRuns: 3000 })
  t.equal(headerThumbprint({ 'x-forwarded-client-cert': `Hash=${victim};X=",By=spiffe://edge;Hash=${hexHash};URI=a"b` }, 'envoy', 'success') === other.thumbprint, false, 'an open quote closed by the client\'s own URI SAN')
})

t.test('Envoy: the element\'s Cert and Hash must name one certificate; Hash, Cert and By once each', async (t) => {
  const otherHex = Buffer.from(other.thumbprint, 'base64url').toString('hex')
  t.ok(isFailure(headerThumbprint({ 'x-forwarded-client-cert': `Hash=${otherHex};Cert="${escapedPem}"` }, 'envoy', 'success')), 'Cert and Hash of two certificates')
  t.equal(headerThumbprint({ 'x-forwarded-client-cert': `Hash=${hexHash};Cert="${escapedPem}";DNS=a;DNS=b` }, 'envoy', 'success'), client.thumbprint, 'one certificate; DNS repeats, one per SAN')
  t.ok(isFailure(headerThumbprint({ 'x-forwarded-client-cert': `Hash=${otherHex};Hash=${hexHash}` }, 'envoy', 'success')), 'two Hashes')
})
