import { afterIo, NeedsIo } from '../async/needs-io.js'
import { Failures } from '../errors.js'
import type { Claims } from '../tokens/claims.js'
import type { CertificateBinding } from './certificate-binding.js'
import type { CertificateRequest } from './client-certificate.js'
import { bindingCheck, type DpopCheck, type DpopRequest, type DpopVerdict } from './dpop-check.js'

export interface SenderConstraintOptions {
  /** DPoP proofs (DPOP=true); without it a DPoP-bound token is refused (RFC 9449 §7.2). */
  readonly dpop?: DpopCheck
  /** Certificate-bound tokens (RFC 8705 §3) and, with `senderConstrainedOnly`, the FAPI 2.0 rule (certificate-binding.ts). */
  readonly certificates: CertificateBinding
  /** SECURITY_PROFILE=fapi2: every token goes through `certificates`, not only bound ones. */
  readonly senderConstrainedOnly: boolean
}

export type SenderConstraintRequest = DpopRequest & CertificateRequest

/**
 * Whether this request holds the key or certificate a verified, unrevoked token is bound to: null
 * when it may use the token. `token` is the access token of the Authorization header, or null for
 * a refresh token from a body (RFC 9449 §5: its proof has no `ath`).
 */
export type SenderConstraintCheck = (request: SenderConstraintRequest, method: string, claims: Claims, token: string | null) => DpopVerdict

export interface SenderConstraint {
  readonly check: SenderConstraintCheck
  /** The DPoP check inside, for what only DPoP adds to an answer (DPoP-Nonce); undefined when DPOP is off. */
  readonly dpop?: DpopCheck
}

/**
 * The one sender-constraint check, wherever tokengate accepts a token: the decision (authorize.ts),
 * the token and admin routes (guards.ts) and refresh rotation. A copied bound token is useless
 * without its key there too: it cannot log its owner out, be validated or rotated.
 */
export function createSenderConstraint ({ dpop, certificates, senderConstrainedOnly }: SenderConstraintOptions): SenderConstraint {
  function proofOf (request: SenderConstraintRequest, method: string, claims: Claims, token: string | null): DpopVerdict {
    if (token !== null) return bindingCheck(dpop, request, method, claims, token)
    if (claims.cnf?.jkt === undefined) return null
    return dpop === undefined ? Failures.DPOP_BOUND_AS_BEARER : dpop.check(request, method, claims, null, true)
  }

  function check (request: SenderConstraintRequest, method: string, claims: Claims, token: string | null): DpopVerdict {
    const proof = proofOf(request, method, claims, token)
    // An unbound token outside the FAPI profile costs one more undefined check, and nothing is allocated.
    if (claims.cnf === undefined && !senderConstrainedOnly) return proof
    if (proof === null) return certificates(claims, request)
    if (proof instanceof NeedsIo) return afterIo(proof, (failure) => failure ?? certificates(claims, request))
    return proof
  }

  return { check, ...(dpop !== undefined && { dpop }) }
}
