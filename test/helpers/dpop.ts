import { createHash, generateKeyPairSync, randomUUID, sign as cryptoSign, constants, type KeyObject, type JsonWebKey } from 'node:crypto'
import { nowS, sign } from './tokens.js'

/** A client's DPoP key pair, as a DPoP client library holds it. */
export interface DpopKey {
  readonly privateKey: KeyObject
  readonly publicJwk: JsonWebKey
  readonly alg: string
  /** RFC 7638 thumbprint: what an authorization server writes in cnf.jkt (RFC 9449 §6.1). */
  readonly jkt: string
}

const REQUIRED: Record<string, string[]> = { EC: ['crv', 'kty', 'x', 'y'], RSA: ['e', 'kty', 'n'], OKP: ['crv', 'kty', 'x'] }

export function thumbprint (jwk: JsonWebKey): string {
  const members: Record<string, unknown> = {}
  for (const name of REQUIRED[jwk.kty as string]) members[name] = jwk[name]
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url')
}

export function dpopKey (type: 'ES256' | 'PS256' | 'RS256' | 'EdDSA' = 'ES256', rsaBits = 2048): DpopKey {
  const { publicKey, privateKey } = type === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : type === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('rsa', { modulusLength: rsaBits })
  const publicJwk = publicKey.export({ format: 'jwk' })
  return { privateKey, publicJwk, alg: type, jkt: thumbprint(publicJwk) }
}

export function ath (token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}

export interface ProofOptions {
  readonly htm: string
  readonly htu: string
  /** The access token the proof is presented with (ath); omit for none. */
  readonly token?: string
  readonly iat?: number
  readonly jti?: string
  readonly nonce?: string
  /** Replaces header members (undefined removes one). */
  readonly header?: Record<string, unknown>
  /** Replaces payload members (undefined removes one). */
  readonly claims?: Record<string, unknown>
}

function b64 (value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

function drop (record: Record<string, unknown>): Record<string, unknown> {
  for (const [name, value] of Object.entries(record)) if (value === undefined) delete record[name]
  return record
}

/** A DPoP proof (RFC 9449 §4.2) built by hand with node:crypto, so that every part can be wrong on purpose. */
export function proof (key: DpopKey, options: ProofOptions): string {
  const header = drop({ typ: 'dpop+jwt', alg: key.alg, jwk: key.publicJwk, ...options.header })
  const payload = drop({
    jti: options.jti ?? randomUUID(),
    htm: options.htm,
    htu: options.htu,
    iat: options.iat ?? nowS(),
    ...(options.token !== undefined && { ath: ath(options.token) }),
    ...(options.nonce !== undefined && { nonce: options.nonce }),
    ...options.claims
  })
  const input = `${b64(header)}.${b64(payload)}`
  const alg = String(header.alg)
  const signature = alg === 'ES256'
    ? cryptoSign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
    : alg === 'PS256'
      ? cryptoSign('sha256', Buffer.from(input), { key: key.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST })
      : alg === 'EdDSA' ? cryptoSign(null, Buffer.from(input), key.privateKey) : cryptoSign('sha256', Buffer.from(input), key.privateKey)
  return `${input}.${signature.toString('base64url')}`
}

/** An access token bound to `key` (cnf.jkt), signed with the test secret as the gateway's issuer would. */
export function boundToken (key: DpopKey, claims: Record<string, unknown> = {}): string {
  return sign({ claims: { cnf: { jkt: key.jkt }, ...claims } })
}
