import type { TlsOptions as TlsServerOptions } from 'node:tls'

/** TLS_CLIENT_CERT: `none`; `request` (any certificate, no chain validation: RFC 8705 §2.2 self-signed); `require-ca` (RFC 8705 §2.1 PKI: a certificate chaining to TLS_CLIENT_CA_FILE, checked at the handshake). */
export type TlsClientCert = 'none' | 'request' | 'require-ca'

/** tokengate's own HTTPS listener (TLS_CERT_FILE, TLS_KEY_FILE): the main port speaks TLS. */
export interface TlsListenerOptions {
  readonly cert: string
  readonly key: string
  /** TLS_CLIENT_CA_FILE: the CAs a client certificate must chain to (require-ca), or only names offered to clients (request). */
  readonly ca: string | null
  readonly clientCert: TlsClientCert
  /** SECURITY_PROFILE=fapi2: TLS 1.2 only with the RFC 9325 §4.2 cipher suites (TLS 1.3 as Node has it). */
  readonly fapi2: boolean
}

// FAPI 2.0 §5.2.2 item 1: only the TLS 1.2 suites BCP 195 recommends, RFC 9325 §4.2 (ECDHE with AES-GCM), in OpenSSL's names.
const FAPI2_TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384'
]
const TLS13_CIPHERS = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256']

/** The node:tls options of the listener: TLS 1.2 at least, always. */
export function tlsServerOptions ({ cert, key, ca, clientCert, fapi2 }: TlsListenerOptions): TlsServerOptions {
  return {
    cert,
    key,
    minVersion: 'TLSv1.2',
    ...(fapi2 && { ciphers: [...TLS13_CIPHERS, ...FAPI2_TLS12_CIPHERS].join(':') }),
    ...(ca !== null && { ca }),
    requestCert: clientCert !== 'none',
    // `request`: a self-signed certificate is accepted (RFC 8705 §2.2); its thumbprint is all that binds.
    rejectUnauthorized: clientCert === 'require-ca'
  }
}
