import type { KeyObject } from 'node:crypto'

// FAPI 2.0 Security Profile §5.4.1 item 1.2: PS256, ES256, or EdDSA with Ed25519 (RFC 9864's Ed25519 is that).
export const FAPI2_ALGORITHMS: ReadonlySet<string> = new Set(['PS256', 'ES256', 'EdDSA', 'Ed25519'])
const MIN_RSA_BITS = 2048
const MIN_EC_BITS = 224

// OpenSSL names carry the field size: prime192v1, secp160k1, brainpoolP512r1, sect163k1.
function curveBits (curve: string | undefined): number {
  const bits = /(\d{3})/.exec(curve ?? '')
  return bits === null ? 0 : Number(bits[1])
}

/** Why a key breaks FAPI 2.0 §5.4.1 items 2–3 (RSA under 2048 bits, an elliptic curve under 224), or null. */
export function fapi2KeyLengthProblem (key: KeyObject): string | null {
  const type = key.asymmetricKeyType
  if (type === 'rsa' || type === 'rsa-pss') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0
    return bits < MIN_RSA_BITS ? `an RSA key of ${bits} bits (FAPI 2.0 §5.4.1: at least ${MIN_RSA_BITS})` : null
  }
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve
    return curveBits(curve) < MIN_EC_BITS ? `an elliptic-curve key on ${curve ?? 'an unnamed curve'} (FAPI 2.0 §5.4.1: at least ${MIN_EC_BITS} bits)` : null
  }
  return null
}

/** Why a key may not verify JWTs under FAPI 2.0 §5.4.1 (its length, or Ed448), or null. */
export function fapi2KeyProblem (key: KeyObject): string | null {
  if (key.asymmetricKeyType === 'ed448') return 'an Ed448 key (FAPI 2.0 §5.4.1: EdDSA with Ed25519 only)'
  return fapi2KeyLengthProblem(key)
}
