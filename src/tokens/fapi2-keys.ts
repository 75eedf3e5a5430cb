import type { KeyObject } from 'node:crypto'

// FAPI 2.0 Security Profile §5.4: PS256, ES256, or EdDSA with Ed25519 (RFC 9864's Ed25519 is that).
export const FAPI2_ALGORITHMS: ReadonlySet<string> = new Set(['PS256', 'ES256', 'EdDSA', 'Ed25519'])
const MIN_RSA_BITS = 2048

/** Why a key may not verify under FAPI 2.0 §5.4 (RSA under 2048 bits, Ed448), or null. */
export function fapi2KeyProblem (key: KeyObject): string | null {
  const type = key.asymmetricKeyType
  if (type === 'rsa' || type === 'rsa-pss') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0
    return bits < MIN_RSA_BITS ? `an RSA key of ${bits} bits (FAPI 2.0 §5.4: at least ${MIN_RSA_BITS})` : null
  }
  if (type === 'ed448') return 'an Ed448 key (FAPI 2.0 §5.4: EdDSA with Ed25519 only)'
  return null
}
