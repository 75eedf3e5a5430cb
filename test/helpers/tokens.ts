import { createHmac, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto'
import { createSigner } from 'fast-jwt'

export const SECRET = 'test-secret-that-is-at-least-32-bytes-long!'
export const PREVIOUS_SECRET = 'previous-secret-also-at-least-32-bytes-long'

export function nowS (): number {
  return Math.floor(Date.now() / 1000)
}

export interface SignOptions {
  readonly key?: string
  readonly algorithm?: string
  readonly kid?: string
  /** Claims merged over a valid default set (sub, jti, iat, exp). Use undefined to drop one. */
  readonly claims?: Record<string, unknown>
  readonly header?: Record<string, unknown>
}

/** A token with valid defaults: sub "user-1", fresh jti, iat now, exp in 15 minutes. */
export function sign ({ key = SECRET, algorithm = 'HS256', kid, claims = {}, header }: SignOptions = {}): string {
  const now = nowS()
  const payload: Record<string, unknown> = { sub: 'user-1', jti: randomUUID(), iat: now, exp: now + 900, ...claims }
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name]
  const signer = createSigner({
    key,
    algorithm: algorithm as 'HS256',
    ...(kid !== undefined && { kid }),
    ...(header !== undefined && { header: { alg: algorithm, ...header } })
  })
  return signer(payload)
}

/** base64url of a JSON value, for hand-built (forged) tokens. */
export function b64 (value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

export interface KeyPair { readonly publicPem: string, readonly privatePem: string, readonly publicKey: KeyObject }

export function keyPair (type: 'rsa' | 'ec' | 'ed25519', curve = 'P-256'): KeyPair {
  const { publicKey, privateKey } = type === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : type === 'ec'
      ? generateKeyPairSync('ec', { namedCurve: curve })
      : generateKeyPairSync('ed25519')
  return {
    publicKey,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  }
}

/** An HS256 token built by hand, exactly as given (the signer would add claims such as iat). */
export function signRaw (payload: Record<string, unknown>, key = SECRET, header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' }): string {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`
}
