import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { configProblems } from '../helpers/config.js'
import { testPki } from '../helpers/certificates.js'
import { SECRET } from '../helpers/tokens.js'

// The TLS listener's and the client certificate's variables, every problem named at start-up.
const pki = testPki(t)
const BASE = { JWT_SECRET: SECRET }
const CERT = { TLS_CERT_FILE: pki.server.certFile, TLS_KEY_FILE: pki.server.keyFile }

t.test('TLS_* problems name their variable', async (t) => {
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['a certificate without its key', { TLS_CERT_FILE: pki.server.certFile }, /^TLS_KEY_FILE: TLS_CERT_FILE and TLS_KEY_FILE go together/],
    ['client certificates without the listener', { TLS_CLIENT_CERT: 'request' }, /^TLS_CLIENT_CERT: needs tokengate's own TLS listener/],
    ['require-ca without its CAs', { ...CERT, TLS_CLIENT_CERT: 'require-ca' }, /^TLS_CLIENT_CA_FILE: required with TLS_CLIENT_CERT=require-ca/],
    ['an unreadable certificate', { ...CERT, TLS_CERT_FILE: '/nonexistent/server.crt' }, /^TLS_CERT_FILE: cannot read/],
    ['a key that is no key', { ...CERT, TLS_KEY_FILE: pki.server.certFile }, /^TLS_KEY_FILE: .* is not a PEM private key/],
    ['a certificate that is no certificate', { ...CERT, TLS_CERT_FILE: pki.server.keyFile }, /^TLS_CERT_FILE: .* is not a PEM certificate/],
    ['an unknown mode', { ...CERT, TLS_CLIENT_CERT: 'optional' }, /^TLS_CLIENT_CERT: "optional" is not accepted/],
    ['an unknown proxy format', { CLIENT_CERT_HEADER: 'haproxy' }, /^CLIENT_CERT_HEADER: "haproxy" is not accepted/],
    ['an unknown verification rule', { CLIENT_CERT_HEADER: 'nginx', CLIENT_CERT_VERIFY: 'any' }, /^CLIENT_CERT_VERIFY: "any" is not accepted/]
  ]
  for (const [name, env, problem] of cases) t.match(configProblems({ ...BASE, ...env }), [problem], name)
})

t.test('what a valid configuration gives the listener and the certificate source', async (t) => {
  t.same(loadConfig(BASE).clientCert, { format: null, verify: 'success', tls: false }, 'nothing by default')
  t.equal(loadConfig(BASE).tls, null, 'plain HTTP by default')
  const config = loadConfig({ ...BASE, ...CERT, TLS_CLIENT_CERT: 'require-ca', TLS_CLIENT_CA_FILE: pki.ca.certFile, CLIENT_CERT_HEADER: 'envoy' })
  t.match(config.tls, { clientCert: 'require-ca', fapi2: false })
  t.same(config.clientCert, { format: 'envoy', verify: 'success', tls: true })
  t.same(loadConfig({ ...BASE, ...CERT }).clientCert.tls, false, 'a listener that asks for no certificate is no source')
})
