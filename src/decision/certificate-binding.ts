import { timingSafeEqual } from 'node:crypto'
import { Failures, isFailure, type Failure } from '../errors.js'
import type { Claims } from '../tokens/claims.js'
import type { CertificateRequest, CertificateSource } from './client-certificate.js'

/** Why a certificate-bound token was refused (tokengate_sender_constraint_failures_total{binding="mtls",reason}). */
export type CertificateFailureReason = 'certificate_missing' | 'certificate_mismatch' | 'certificate_malformed' | 'not_sender_constrained'

export interface CertificateBindingOptions {
  readonly source: CertificateSource
  /** SECURITY_PROFILE=fapi2: a token bound to neither a key nor a certificate is refused. */
  readonly requireSenderConstrained: boolean
  /** Counts a refusal by reason (bounded). */
  readonly failed: (reason: CertificateFailureReason) => void
}

/**
 * The sender-constraint check of a verified token, run by authorize after authentication, on
 * every request (a cached token too): null when it passes. Only `x5t#S256` is checked here;
 * `jkt` (DPoP) is the DPoP check's.
 */
export type CertificateBinding = (claims: Claims, request: CertificateRequest) => Failure | null

function sameThumbprint (a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

export function createCertificateBinding ({ source, requireSenderConstrained, failed }: CertificateBindingOptions): CertificateBinding {
  return (claims, request) => {
    const cnf = claims.cnf
    const bound = cnf?.x5tS256
    if (bound === undefined) {
      // FAPI 2.0 Security Profile §5.3.4 item 5 (verify sender-constrained tokens), read with
      // §5.3.2.1 item 4 (servers issue no other): a token bound to nothing is refused.
      if (requireSenderConstrained && cnf?.jkt === undefined) {
        failed('not_sender_constrained')
        return Failures.TOKEN_NOT_SENDER_CONSTRAINED
      }
      return null
    }
    // RFC 8705 §3: the thumbprint of the certificate of this TLS connection (or the one a
    // trusted proxy terminated) must equal the token's x5t#S256. Read only now: unbound tokens pay nothing.
    const presented = source(request)
    if (presented === null) {
      failed('certificate_missing')
      return Failures.CERTIFICATE_MISSING
    }
    if (isFailure(presented)) {
      failed('certificate_malformed')
      return presented
    }
    if (!sameThumbprint(presented, bound)) {
      failed('certificate_mismatch')
      return Failures.CERTIFICATE_MISMATCH
    }
    return null
  }
}
