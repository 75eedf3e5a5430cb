import { createPrivateKey, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto'
import { CLIENT_CERT_FORMATS, type ClientCertOptions } from '../decision/client-certificate.js'
import type { FailMode } from '../revocation/checker.js'
import type { TlsListenerOptions } from '../server/tls-listener.js'
import { isHmac } from '../tokens/algorithms.js'
import { FAPI2_ALGORITHMS, fapi2KeyLengthProblem, fapi2KeyProblem } from '../tokens/fapi2-keys.js'
import type { JwtConfig } from '../tokens/options.js'
import type { EnvReader } from './env-reader.js'

/** SECURITY_PROFILE: `fapi2` holds the configuration and every token to the FAPI 2.0 Security Profile (docs/mtls.md). */
export type SecurityProfile = 'default' | 'fapi2'

export function readSecurityProfile (r: EnvReader): SecurityProfile {
  return r.oneOf('SECURITY_PROFILE', ['default', 'fapi2'], 'default')
}

/** TLS_CERT_FILE, TLS_KEY_FILE, TLS_CLIENT_CA_FILE, TLS_CLIENT_CERT: null without a certificate (plain HTTP). */
export function readTlsListener (r: EnvReader, profile: SecurityProfile): TlsListenerOptions | null {
  const certFile = r.optionalString('TLS_CERT_FILE')
  const keyFile = r.optionalString('TLS_KEY_FILE')
  const caFile = r.optionalString('TLS_CLIENT_CA_FILE')
  const clientCert = r.oneOf('TLS_CLIENT_CERT', ['none', 'request', 'require-ca'], 'none')
  if (certFile === null || keyFile === null) {
    if (certFile !== null || keyFile !== null) r.fail(certFile === null ? 'TLS_CERT_FILE' : 'TLS_KEY_FILE', 'TLS_CERT_FILE and TLS_KEY_FILE go together')
    if (clientCert !== 'none' || caFile !== null) r.fail(clientCert !== 'none' ? 'TLS_CLIENT_CERT' : 'TLS_CLIENT_CA_FILE', 'needs tokengate\'s own TLS listener: set TLS_CERT_FILE and TLS_KEY_FILE')
    return null
  }
  const cert = r.file('TLS_CERT_FILE', certFile)
  const key = r.file('TLS_KEY_FILE', keyFile, { secret: true })
  const ca = caFile === null ? null : r.file('TLS_CLIENT_CA_FILE', caFile)
  if (clientCert === 'require-ca' && caFile === null) r.fail('TLS_CLIENT_CA_FILE', 'required with TLS_CLIENT_CERT=require-ca (the CAs client certificates must chain to)')
  if (cert !== null) {
    try {
      // eslint-disable-next-line no-new
      new X509Certificate(cert)
    } catch {
      r.fail('TLS_CERT_FILE', `${certFile} is not a PEM certificate`)
    }
  }
  if (key !== null) {
    try {
      createPrivateKey(key)
    } catch {
      r.fail('TLS_KEY_FILE', `${keyFile} is not a PEM private key`)
    }
  }
  if (cert === null || key === null) return null
  return { cert, key, ca, clientCert, fapi2: profile === 'fapi2' }
}

/** CLIENT_CERT_HEADER, CLIENT_CERT_VERIFY: the certificate a trusted proxy terminated, and how its verification status is believed. */
export function readClientCert (r: EnvReader, tls: TlsListenerOptions | null): ClientCertOptions {
  const format = r.raw('CLIENT_CERT_HEADER') === undefined ? null : r.oneOf('CLIENT_CERT_HEADER', CLIENT_CERT_FORMATS, 'rfc9440')
  const verify = r.oneOf('CLIENT_CERT_VERIFY', ['success', 'present'], 'success')
  return { format, verify, tls: tls !== null && tls.clientCert !== 'none' }
}

export interface Fapi2Settings {
  readonly jwt: JwtConfig
  readonly failMode: FailMode
  readonly tls: TlsListenerOptions | null
}

/**
 * SECURITY_PROFILE=fapi2: every setting the FAPI 2.0 Security Profile (final, February 2025) forbids
 * a resource server, each named by its variable. Tokens are held to it at run time
 * (certificate-binding.ts, jwks.ts). Clause by clause: docs/mtls.md.
 */
export function checkFapi2 (r: EnvReader, { jwt, failMode, tls }: Fapi2Settings): void {
  const own = jwt.algorithms.filter((alg) => !FAPI2_ALGORITHMS.has(alg))
  if (own.length > 0) {
    r.fail(r.has('JWT_ISSUERS') ? 'JWT_ISSUERS' : 'JWT_ALGORITHMS', `SECURITY_PROFILE=fapi2 allows only PS256, ES256 and EdDSA (Ed25519), FAPI 2.0 §5.4.1; not ${own.join(', ')}`)
  }
  if (jwt.ephemeral) r.fail('JWT_SECRET', 'SECURITY_PROFILE=fapi2 needs configured asymmetric keys, not a development HS256 secret')
  for (const { pem, source } of jwt.publicKeys) {
    const problem = fapi2KeyProblem(createPublicKey(pem))
    if (problem !== null) r.fail('JWT_PUBLIC_KEYS', `${source} is ${problem}`)
  }
  if (jwt.signing !== null && !isHmac(jwt.signing.algorithm)) {
    const problem = fapi2KeyProblem(createPublicKey(jwt.signing.key))
    if (problem !== null) r.fail('JWT_PRIVATE_KEY', `is ${problem}`)
  }
  // §5.4.1 items 2–3 hold for every key, the TLS listener's too (readTlsListener already named an unreadable one).
  const tlsKey = tls === null ? null : readableKey(tls.key)
  const tlsProblem = tlsKey === null ? null : fapi2KeyLengthProblem(tlsKey)
  if (tlsProblem !== null) r.fail('TLS_KEY_FILE', `is ${tlsProblem}`)
  // §5.2.1 item 1: connections to other servers use TLS.
  for (const entry of jwt.issuers) {
    for (const [url, name] of [[entry.jwksUrl, 'JWKS_URL'], [entry.discoveryUrl, 'JWT_ISSUERS']] as const) {
      if (url !== null && url.protocol !== 'https:') r.fail(r.has('JWT_ISSUERS') ? 'JWT_ISSUERS' : name, `SECURITY_PROFILE=fapi2 reads keys over https only (FAPI 2.0 §5.2.1: TLS to other servers), not ${url.protocol}//${url.host}`)
    }
  }
  // §5.2.1 item 5: a TLS server certificate check. Node.js skips it for every connection under this value.
  if (r.raw('NODE_TLS_REJECT_UNAUTHORIZED') === '0') {
    r.fail('NODE_TLS_REJECT_UNAUTHORIZED', 'SECURITY_PROFILE=fapi2 refuses 0: servers\' certificates are checked (FAPI 2.0 §5.2.1); for a private CA set NODE_EXTRA_CA_CERTS')
  }
  // §5.3.4 item 3: a resource server verifies the revocation status of every access token.
  if (failMode === 'open') r.fail('FAIL_MODE', 'SECURITY_PROFILE=fapi2 refuses FAIL_MODE=open: a token whose revocation status cannot be known is refused (FAPI 2.0 §5.3.4)')
}

function readableKey (pem: string): KeyObject | null {
  try {
    return createPublicKey(pem)
  } catch {
    return null
  }
}
