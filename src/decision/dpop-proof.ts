import { constants, createHash, createPublicKey, verify, type KeyObject } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import { Failures, type Failure } from '../errors.js'
import { algorithmsForKey, type AsymmetricAlgorithm } from '../tokens/algorithms.js'
import { ecdsaSignatureToDer } from '../tokens/ecdsa-der.js'

/** A proof whose form and signature are valid; what it claims is checked by dpop-check.ts. */
export interface Proof {
  /** RFC 7638 thumbprint (SHA-256, base64url) of the proof's public key: RFC 9449 §6.1 `jkt`. */
  readonly jkt: string
  readonly jti: string
  readonly htm: string
  readonly htu: string
  readonly iat: number
  readonly ath: string | undefined
  readonly nonce: string | undefined
}

/** Longer proofs are refused unread: an RSA 4096 key and signature fit in about 2 KB. */
export const MAX_PROOF_BYTES = 8192
/** The proof's `jti` is a replay cache key: bounded (RFC 9449 §4.2 asks for 96 random bits or more). */
export const MAX_JTI_LENGTH = 256
const MIN_RSA_BITS = 2048
// RFC 7518 §3.4: the size in bytes of R and of S for each curve.
const ECDSA_SIZES: Readonly<Record<string, number>> = { ES256: 32, ES384: 48, ES512: 66 }
// RSA verification costs grow with the modulus and, steeply, with the public exponent: an
// exponent as long as the modulus makes one verification ~100 times dearer (3072 bits: 7.6 ms
// instead of 0.07). Any client could make such a key and have a token bound to it.
const MAX_RSA_BITS = 8192
// Go's crypto/rsa refuses exponents over 2^31-1; DPoP clients use 65537.
const MAX_RSA_EXPONENT_BYTES = 4

const SEGMENT = /^[A-Za-z0-9_-]+$/
// Private key members of every key type (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2): a proof
// carrying one has leaked its private key.
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const
// RFC 7638 §3.2: the required members of each key type, in lexicographic order. A Map: `kty` is
// the client's string, and "constructor" or "__proto__" must not find an inherited member.
const REQUIRED_MEMBERS: ReadonlyMap<unknown, readonly string[]> = new Map([['EC', ['crv', 'kty', 'x', 'y']], ['RSA', ['e', 'kty', 'n']], ['OKP', ['crv', 'kty', 'x']]])
// RFC 7515 §4.1.9: `typ` is a media type (case-insensitive, RFC 2045 §5.1) that may omit "application/".
const DPOP_TYP = /^(?:application\/)?dpop\+jwt$/i

interface ImportedKey {
  readonly key: KeyObject
  readonly algorithms: readonly string[]
}

/**
 * Whether valid JSON `text` names a member twice in one object, in any spelling ("htm" and
 * "h\u0074m"). RFC 7515 §4 and RFC 7519 §4 allow keeping the last; tokengate refuses them (I-JSON,
 * RFC 7493 §2.3), so that an upstream given the proof (DPOP_FORWARD_PROOF) that keeps the first
 * cannot read another htm, htu or jwk than the one checked here.
 */
function repeatsMember (text: string): boolean {
  const objects: Array<Set<string> | null> = []
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '{') objects.push(new Set())
    else if (c === '[') objects.push(null)
    else if (c === '}' || c === ']') objects.pop()
    else if (c === '"') {
      const start = i
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++
      let next = i + 1
      while (text[next] === ' ' || text[next] === '\t' || text[next] === '\n' || text[next] === '\r') next++
      const members = objects.at(-1)
      if (text[next] !== ':' || members === undefined || members === null) continue
      const name = JSON.parse(text.slice(start, i + 1)) as string
      if (members.has(name)) return true
      members.add(name)
    }
  }
  return false
}

function json (segment: string): Record<string, unknown> | null {
  try {
    const text = Buffer.from(segment, 'base64url').toString('utf8')
    const value: unknown = JSON.parse(text)
    return value !== null && typeof value === 'object' && !Array.isArray(value) && !repeatsMember(text) ? value as Record<string, unknown> : null
  } catch {
    return null
  }
}

/** RFC 7638 §3: the canonical JSON of the required members, and its SHA-256 thumbprint; null when a member is missing. */
function thumbprintOf (jwk: Record<string, unknown>): { readonly jkt: string, readonly members: Record<string, string> } | null {
  const required = REQUIRED_MEMBERS.get(jwk.kty)
  if (required === undefined) return null
  const members: Record<string, string> = {}
  for (const name of required) {
    const value = jwk[name]
    if (typeof value !== 'string' || value === '') return null
    members[name] = value
  }
  return { jkt: createHash('sha256').update(JSON.stringify(members)).digest('base64url'), members }
}

function rsaCostBounded (key: KeyObject): boolean {
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0
  const exponent = key.asymmetricKeyDetails?.publicExponent ?? 0n
  return bits >= MIN_RSA_BITS && bits <= MAX_RSA_BITS && exponent < 1n << BigInt(8 * MAX_RSA_EXPONENT_BYTES)
}

function importKey (members: Record<string, string>): ImportedKey | null {
  try {
    const key = createPublicKey({ key: members, format: 'jwk' })
    if (key.asymmetricKeyType === 'rsa' && !rsaCostBounded(key)) return null
    return { key, algorithms: algorithmsForKey(key) }
  } catch {
    return null
  }
}

function signatureValid (alg: string, key: KeyObject, input: Buffer, signature: Buffer): boolean {
  const hash = alg.endsWith('384') ? 'sha384' : alg.endsWith('512') ? 'sha512' : 'sha256'
  try {
    switch (alg.slice(0, 2)) {
      case 'RS': return verify(hash, input, key, signature)
      case 'PS': return verify(hash, input, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, signature)
      // RFC 7518 §3.4: R || S, of the curve's size (ecdsa-der.ts: cheaper than dsaEncoding).
      case 'ES': {
        const der = ecdsaSignatureToDer(signature, ECDSA_SIZES[alg] ?? 0)
        return der !== null && verify(hash, input, key, der)
      }
      default: return verify(null, input, key, signature)
    }
  } catch {
    return false
  }
}

/**
 * `boundJkt`: the token's cnf.jkt. A proof whose jwk has another thumbprint is DPOP_KEY_MISMATCH
 * before its key is imported or its signature checked: whoever holds a stolen bound token gets
 * no signature verification with keys of its choosing, and cannot fill the key cache with them.
 */
export type ProofVerifier = (proof: string, boundJkt?: string) => Proof | Failure

/**
 * RFC 9449 §4.3 checks 1-7 of one DPoP header value: a JWT (three base64url segments), `typ`
 * dpop+jwt (as a media type), an asymmetric `alg` of `algorithms` (never none nor HS*: an algorithm outside the
 * list is refused before any key is looked at), the public key in `jwk` alone (no private
 * members, no `jku`/`x5u`/`x5c` to fetch, no `crit` extension) bound to the algorithm's family,
 * a valid signature, and the claims every proof has. Imported keys are kept by thumbprint
 * (bounded): a client's key is parsed once, not on each request.
 */
export function createProofVerifier (algorithms: readonly AsymmetricAlgorithm[], keyCacheSize = 10_000): ProofVerifier {
  const allowed: ReadonlySet<string> = new Set(algorithms)
  const keys = new LRUCache<string, ImportedKey>({ max: keyCacheSize })
  return (proof, boundJkt) => {
    if (proof.length > MAX_PROOF_BYTES) return Failures.DPOP_PROOF_INVALID
    const first = proof.indexOf('.')
    const second = proof.indexOf('.', first + 1)
    if (first === -1 || second === -1 || proof.indexOf('.', second + 1) !== -1) return Failures.DPOP_PROOF_INVALID
    const headerPart = proof.slice(0, first)
    const payloadPart = proof.slice(first + 1, second)
    const signaturePart = proof.slice(second + 1)
    if (!SEGMENT.test(headerPart) || !SEGMENT.test(payloadPart) || !SEGMENT.test(signaturePart)) return Failures.DPOP_PROOF_INVALID
    const header = json(headerPart)
    if (header === null || typeof header.typ !== 'string' || !DPOP_TYP.test(header.typ) || typeof header.alg !== 'string' || !allowed.has(header.alg)) return Failures.DPOP_PROOF_INVALID
    if (header.jku !== undefined || header.x5u !== undefined || header.x5c !== undefined || header.crit !== undefined) return Failures.DPOP_PROOF_INVALID
    const jwk = header.jwk
    if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) return Failures.DPOP_PROOF_INVALID
    const members = jwk as Record<string, unknown>
    for (const name of PRIVATE_MEMBERS) if (members[name] !== undefined) return Failures.DPOP_PROOF_INVALID
    const thumbprint = thumbprintOf(members)
    if (thumbprint === null) return Failures.DPOP_PROOF_INVALID
    if (boundJkt !== undefined && thumbprint.jkt !== boundJkt) return Failures.DPOP_KEY_MISMATCH
    let imported = keys.get(thumbprint.jkt)
    if (imported === undefined) {
      const fresh = importKey(thumbprint.members)
      if (fresh === null) return Failures.DPOP_PROOF_INVALID
      keys.set(thumbprint.jkt, fresh)
      imported = fresh
    }
    if (!imported.algorithms.includes(header.alg)) return Failures.DPOP_PROOF_INVALID
    const input = Buffer.from(proof.slice(0, second), 'latin1')
    if (!signatureValid(header.alg, imported.key, input, Buffer.from(signaturePart, 'base64url'))) return Failures.DPOP_PROOF_INVALID
    const claims = json(payloadPart)
    if (claims === null) return Failures.DPOP_PROOF_INVALID
    const { jti, htm, htu, iat, ath, nonce } = claims
    if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH || typeof htm !== 'string' || typeof htu !== 'string' ||
      typeof iat !== 'number' || !Number.isFinite(iat) || (ath !== undefined && typeof ath !== 'string') || (nonce !== undefined && typeof nonce !== 'string')) {
      return Failures.DPOP_PROOF_INVALID
    }
    return { jkt: thumbprint.jkt, jti, htm, htu, iat, ath, nonce }
  }
}
