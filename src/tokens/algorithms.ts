import type { KeyObject } from 'node:crypto'

export type HmacAlgorithm = 'HS256' | 'HS384' | 'HS512'
export type AsymmetricAlgorithm =
  | 'RS256' | 'RS384' | 'RS512'
  | 'PS256' | 'PS384' | 'PS512'
  | 'ES256' | 'ES384' | 'ES512'
  | 'EdDSA'
  /** RFC 9864 §2.2: EdDSA on Ed25519 keys only, under its fully-specified name. */
  | 'Ed25519'
export type Algorithm = HmacAlgorithm | AsymmetricAlgorithm

export const HMAC_ALGORITHMS: readonly HmacAlgorithm[] = ['HS256', 'HS384', 'HS512']

export const ASYMMETRIC_ALGORITHMS: readonly AsymmetricAlgorithm[] = [
  'RS256', 'RS384', 'RS512',
  'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512',
  'EdDSA', 'Ed25519'
]

export const ALL_ALGORITHMS: readonly Algorithm[] = [...HMAC_ALGORITHMS, ...ASYMMETRIC_ALGORITHMS]

/** Algorithms fast-jwt can sign with (it signs Ed25519 keys as EdDSA only). */
export function canSign (alg: Algorithm): boolean {
  return alg !== 'Ed25519'
}

export function isHmac (alg: string): alg is HmacAlgorithm {
  return (HMAC_ALGORITHMS as readonly string[]).includes(alg)
}

const EC_CURVES: ReadonlyMap<string, Algorithm> = new Map([
  ['prime256v1', 'ES256'],
  ['P-256', 'ES256'],
  ['secp384r1', 'ES384'],
  ['P-384', 'ES384'],
  ['secp521r1', 'ES512'],
  ['P-521', 'ES512']
])

/**
 * The algorithms a public or private key may verify or sign with. Binding each
 * key to its own family is what makes algorithm confusion impossible: an RSA
 * public key is never offered to an HMAC verifier, whatever the token header says.
 */
export function algorithmsForKey (key: KeyObject): Algorithm[] {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']
    case 'rsa-pss':
      return ['PS256', 'PS384', 'PS512']
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve
      const alg = curve === undefined ? undefined : EC_CURVES.get(curve)
      return alg === undefined ? [] : [alg]
    }
    // RFC 9864: `Ed25519` names EdDSA on Ed25519 keys only; `EdDSA` stays valid for both curves.
    case 'ed25519':
      return ['EdDSA', 'Ed25519']
    case 'ed448':
      return ['EdDSA']
    default:
      return []
  }
}
