import { ANY_ISSUER } from '../revocation/issuer-scope.js'
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto'
import { ALL_ALGORITHMS, algorithmsForKey, canSign, isHmac, type Algorithm } from '../tokens/algorithms.js'
import type { EnvReader } from './env-reader.js'
import { mediaType } from '../tokens/header.js'
import { CLAIM_PATH_RULE, claimPath, DEFAULT_ROLES_CLAIM, type RolesClaim } from '../tokens/claims.js'
import type { BackchannelLogoutConfig, IssuerConfig, JwtConfig, PublicKeyConfig, SigningKeyConfig } from '../tokens/options.js'
import { readIssuers } from './issuers.js'

const MIN_SECRET_LENGTH = 32

/** JWT_ALGORITHMS: HS256 by default; with JWT_ISSUERS, only tokengate's own keys' (none by default). */
function readAlgorithms (r: EnvReader, fallback: readonly string[]): Algorithm[] {
  const names = r.has('JWT_ALGORITHMS') ? r.list('JWT_ALGORITHMS') : fallback
  const out: Algorithm[] = []
  for (const name of names) {
    if (name.toLowerCase() === 'none') {
      r.fail('JWT_ALGORITHMS', '"none" is never accepted: unsigned tokens would verify')
    } else if (!(ALL_ALGORITHMS as readonly string[]).includes(name)) {
      r.fail('JWT_ALGORITHMS', `unknown algorithm "${name}"; expected some of ${ALL_ALGORITHMS.join(', ')}`)
    } else if (!out.includes(name as Algorithm)) {
      out.push(name as Algorithm)
    }
  }
  if (r.has('JWT_ALGORITHMS') && names.length === 0) r.fail('JWT_ALGORITHMS', `empty; expected some of ${ALL_ALGORITHMS.join(', ')}`)
  // RFC 9864 §2.2: Ed25519 is the fully-specified name of EdDSA on Ed25519 keys, which current IdPs sign with.
  if (out.includes('EdDSA') && !out.includes('Ed25519')) out.push('Ed25519')
  return out
}

function readSecret (r: EnvReader, name: string): string | null {
  const secret = r.optionalString(name)
  if (secret !== null && Buffer.byteLength(secret) < MIN_SECRET_LENGTH) {
    r.fail(name, `must be at least ${MIN_SECRET_LENGTH} bytes (RFC 7518 3.2: a key as long as the hash)`)
  }
  return secret
}

const INLINE_PEM = '-----BEGIN'

/** An inline PEM (hosting panels often store its newlines as a literal \n) or a file path. */
function readPem (r: EnvReader, name: string, value: string, secret: boolean): string | null {
  if (value.startsWith(INLINE_PEM)) return value.replaceAll('\\n', '\n')
  return r.file(name, value, { secret })
}

// "kid=path", "kid=-----BEGIN...", a bare path or a bare PEM (whose base64 may hold "=").
function splitKid (item: string): { kid: string | null, value: string } {
  const match = /^([A-Za-z0-9._:-]+)=(.+)$/s.exec(item)
  if (item.startsWith(INLINE_PEM) || match === null) return { kid: null, value: item }
  return { kid: match[1], value: match[2] }
}

function readPublicKeys (r: EnvReader, allowed: readonly Algorithm[]): PublicKeyConfig[] {
  const out: PublicKeyConfig[] = []
  for (const item of r.list('JWT_PUBLIC_KEYS')) {
    const { kid, value } = splitKid(item)
    const source = value.startsWith(INLINE_PEM) ? `inline PEM ${out.length + 1}` : value
    const pem = readPem(r, 'JWT_PUBLIC_KEYS', value, false)
    if (pem === null) continue
    try {
      const key = createPublicKey(pem)
      if (!algorithmsForKey(key).some((alg) => allowed.includes(alg))) {
        r.fail('JWT_PUBLIC_KEYS', `${source} is a ${key.asymmetricKeyType ?? 'unknown'} key, but JWT_ALGORITHMS allows none of its algorithms`)
        continue
      }
    } catch {
      r.fail('JWT_PUBLIC_KEYS', `${source} is not a PEM public key`)
      continue
    }
    out.push({ kid, pem, source })
  }
  return out
}

/** Tokens tokengate signs must verify at tokengate: the private key's public half must be configured. */
function checkSigningKeyIsTrusted (r: EnvReader, signing: SigningKeyConfig | null, publicKeys: readonly PublicKeyConfig[], jwks: boolean): void {
  if (signing === null || isHmac(signing.algorithm) || jwks || publicKeys.length === 0) return
  const own = createPublicKey(signing.key).export({ type: 'spki', format: 'der' })
  if (!publicKeys.some(({ pem }) => createPublicKey(pem).export({ type: 'spki', format: 'der' }).equals(own))) {
    r.fail('JWT_PRIVATE_KEY', 'its public key is not among JWT_PUBLIC_KEYS, so tokens tokengate issues on refresh would not verify')
  }
}

function readSigningKey (r: EnvReader, allowed: readonly Algorithm[], secret: string | null): SigningKeyConfig | null {
  const privateValue = r.optionalString('JWT_PRIVATE_KEY')
  const kid = r.optionalString('JWT_SIGNING_KID')
  if (privateValue !== null) {
    const pem = readPem(r, 'JWT_PRIVATE_KEY', privateValue, true)
    if (pem === null) return null
    try {
      const key = createPrivateKey(pem)
      const algorithm = algorithmsForKey(key).find((alg) => allowed.includes(alg) && canSign(alg))
      if (algorithm === undefined && allowed.includes('Ed25519') && key.asymmetricKeyType === 'ed25519') {
        r.fail('JWT_PRIVATE_KEY', 'an Ed25519 key is signed with as EdDSA: add EdDSA to JWT_ALGORITHMS')
        return null
      }
      if (algorithm === undefined) {
        r.fail('JWT_PRIVATE_KEY', `a ${key.asymmetricKeyType ?? 'unknown'} key, but JWT_ALGORITHMS allows none of its algorithms`)
        return null
      }
      return { algorithm, key: pem, kid }
    } catch {
      r.fail('JWT_PRIVATE_KEY', 'not a PEM private key')
      return null
    }
  }
  const hmac = allowed.find(isHmac)
  if (secret !== null && hmac !== undefined) return { algorithm: hmac, key: secret, kid }
  return null
}

/** JWT_REQUIRED_TYP (RFC 9068 §4): compared as RFC 7515 §4.1.9 says, case-insensitively and without `application/`. */
function readRequiredTyp (r: EnvReader): string | null {
  const typ = r.optionalString('JWT_REQUIRED_TYP')
  if (typ === null) return null
  const normalised = mediaType(typ)
  if (!/^[a-z0-9!#$&^_.+-]+$/.test(normalised)) {
    r.fail('JWT_REQUIRED_TYP', `"${typ}" is not a media type such as at+jwt or application/at+jwt`)
    return null
  }
  return normalised
}

/** ROLES_CLAIM: comma-separated dot paths; `\.` is a dot inside a claim name (`https://example\.com/roles`). */
function readRolesClaim (r: EnvReader): RolesClaim {
  const paths = r.has('ROLES_CLAIM') ? r.list('ROLES_CLAIM') : DEFAULT_ROLES_CLAIM
  const out: string[][] = []
  for (const path of paths) {
    const segments = claimPath(path)
    if (segments === null) r.fail('ROLES_CLAIM', `"${path}" is not ${CLAIM_PATH_RULE}`)
    else out.push(segments)
  }
  if (r.has('ROLES_CLAIM') && paths.length === 0) r.fail('ROLES_CLAIM', 'empty; expected dot paths such as roles,role or realm_access.roles')
  return out
}

/** The longest lifetimes of the tokens tokengate itself issues, which any maximum must accept. */
export interface IssuedLifetimes {
  readonly refreshTokenTtlS: number
  readonly sessionMaxLifetimeS: number
}

const DAY_S = 86_400
// Ten years: with any clock tolerance, now + maximum stays far below 2^32 s (year 2106),
// the width in which the load index and the mark table store expiries.
const MAX_TOKEN_LIFETIME_LIMIT_S = 3650 * DAY_S

/**
 * JWT_MAX_TOKEN_LIFETIME: the longest `exp - iat` accepted. Every mark whose
 * token's exp is unknown (session, user, global) is sized from it, so it may
 * not be shorter than a token tokengate itself issues (issue 16).
 */
function readMaxTokenLifetime (r: EnvReader, issued: IssuedLifetimes): number {
  const longestIssuedS = Math.max(issued.sessionMaxLifetimeS, issued.refreshTokenTtlS)
  const maxS = r.durationS('JWT_MAX_TOKEN_LIFETIME', longestIssuedS, { min: 60, max: MAX_TOKEN_LIFETIME_LIMIT_S })
  if (maxS < issued.sessionMaxLifetimeS) {
    r.fail('JWT_MAX_TOKEN_LIFETIME', `${maxS}s is shorter than SESSION_MAX_LIFETIME (${issued.sessionMaxLifetimeS}s): marks sized from it would expire before the tokens of a session`)
  } else if (maxS < issued.refreshTokenTtlS) {
    r.fail('JWT_MAX_TOKEN_LIFETIME', `${maxS}s is shorter than the refresh lifetime REFRESH_TOKEN_EXPIRE_DAYS (${issued.refreshTokenTtlS}s): tokengate's own refresh tokens would be refused`)
  }
  return maxS
}

/**
 * The single-issuer variables as a list of one, with today's behaviour: iss and aud checked
 * only when set, the roles of ROLES_CLAIM, `sid` and `jti`, and ADMIN_ROLE granted.
 */
function singleIssuer (r: EnvReader, algorithms: readonly Algorithm[], jwksUrl: Readonly<URL> | null): IssuerConfig {
  const issuer = r.optionalString('JWT_ISSUER')
  // A token carries one iss, compared whole: "a,b" would start and then refuse every token.
  if (issuer !== null && /[\s,]/.test(issuer)) {
    r.fail('JWT_ISSUER', `"${issuer}" holds a comma or whitespace: it names one issuer, compared whole with each token's iss; list several in JWT_ISSUERS`)
  }
  if (issuer === ANY_ISSUER) r.fail('JWT_ISSUER', `"${ANY_ISSUER}" is reserved: revocation marks of every issuer are written under it`)
  const audience = r.optionalString('JWT_AUDIENCE')
  return {
    issuer,
    jwksUrl,
    discoveryUrl: null,
    audiences: audience === null ? [] : [audience],
    algorithms,
    rolesClaim: readRolesClaim(r),
    sessionClaim: 'sid',
    jtiClaim: 'jti',
    grantsAdmin: true,
    backchannelLogout: singleBackchannel(r, issuer, jwksUrl),
    globalTokenRevocation: null
  }
}

/** BACKCHANNEL_LOGOUT_CLIENT_IDS: back-channel logout from the one issuer (relay and algorithms only in JWT_ISSUERS). */
function singleBackchannel (r: EnvReader, issuer: string | null, jwksUrl: Readonly<URL> | null): BackchannelLogoutConfig | null {
  const clientIds = r.list('BACKCHANNEL_LOGOUT_CLIENT_IDS')
  if (clientIds.length === 0) return null
  if (issuer === null || jwksUrl === null) {
    r.fail('BACKCHANNEL_LOGOUT_CLIENT_IDS', 'needs JWT_ISSUER and JWKS_URL: a logout token is verified with its issuer\'s published keys')
    return null
  }
  return { clientIds, relayUri: null, algorithms: null }
}

function audienceOf (issuer: IssuerConfig | undefined): string | readonly string[] | null {
  if (issuer === undefined || issuer.audiences.length === 0) return null
  return issuer.audiences.length === 1 ? issuer.audiences[0] : issuer.audiences
}

export function readJwtConfig (r: EnvReader, production: boolean, issued: IssuedLifetimes): JwtConfig {
  // NODE_ENV=development: an identity provider on the developer's machine, without TLS.
  const allowHttpKeys = r.raw('NODE_ENV') === 'development'
  const listed = readIssuers(r, allowHttpKeys)
  const ownAlgorithms = readAlgorithms(r, listed === null ? ['HS256'] : [])
  const algorithms = listed === null ? ownAlgorithms : [...new Set([...ownAlgorithms, ...listed.flatMap((entry) => entry.algorithms)])]
  let secret = readSecret(r, 'JWT_SECRET')
  const previousSecret = readSecret(r, 'JWT_PREVIOUS_SECRET')
  const publicKeys = readPublicKeys(r, algorithms)
  const jwksUrl = r.url('JWKS_URL', ['https:', 'http:'])
  const issuers = listed ?? [singleIssuer(r, algorithms, jwksUrl)]
  // Undefined only when JWT_ISSUERS failed, which is reported.
  const primary = issuers[0] as IssuerConfig | undefined
  const remoteKeys = jwksUrl !== null || listed !== null
  const hasKeyMaterial = secret !== null || publicKeys.length > 0 || remoteKeys ||
    r.has('JWT_PUBLIC_KEYS') || r.has('JWT_SECRET')

  let ephemeral = false
  if (!hasKeyMaterial) {
    if (production) {
      r.fail('JWT_SECRET', 'NODE_ENV=production needs key material: set JWT_SECRET, JWT_PUBLIC_KEYS or JWKS_URL')
    } else if (algorithms.some(isHmac)) {
      secret = randomBytes(32).toString('base64url')
      ephemeral = true
    }
  }

  const usesHmac = algorithms.some(isHmac)
  const usesAsymmetric = algorithms.some((alg) => !isHmac(alg))
  if (usesHmac && secret === null && hasKeyMaterial) {
    r.fail('JWT_SECRET', `required because JWT_ALGORITHMS allows ${algorithms.filter(isHmac).join(', ')}`)
  }
  if (!usesHmac && secret !== null) {
    r.fail('JWT_SECRET', 'set, but JWT_ALGORITHMS allows no HS* algorithm')
  }
  if (usesAsymmetric && publicKeys.length === 0 && !remoteKeys && !r.has('JWT_PUBLIC_KEYS')) {
    r.fail('JWT_PUBLIC_KEYS', `JWT_PUBLIC_KEYS or JWKS_URL is required because JWT_ALGORITHMS allows ${algorithms.filter((a) => !isHmac(a)).join(', ')}`)
  }
  if (previousSecret !== null && secret === null) {
    r.fail('JWT_PREVIOUS_SECRET', 'set without JWT_SECRET; the previous key only verifies during a rotation')
  }

  const signing = readSigningKey(r, algorithms, secret)
  checkSigningKeyIsTrusted(r, signing, publicKeys, remoteKeys)

  return {
    algorithms,
    secret,
    previousSecret,
    publicKeys,
    jwksCooldownMs: r.int('JWKS_COOLDOWN_S', 30, { min: 1, max: 3600 }) * 1000,
    jwksTimeoutMs: r.int('JWKS_TIMEOUT_MS', 5000, { min: 100, max: 60000 }),
    signing,
    issuer: primary?.issuer ?? null,
    audience: audienceOf(primary),
    clockToleranceS: r.int('JWT_CLOCK_TOLERANCE_S', 5, { min: 0, max: 300 }),
    maxTokenLifetimeS: readMaxTokenLifetime(r, issued),
    maxTokenBytes: r.int('MAX_TOKEN_BYTES', 8192, { min: 256, max: 65536 }),
    verifyCacheSize: r.int('JWT_VERIFY_CACHE_SIZE', 5000, { min: 0, max: 1_000_000 }),
    requiredTyp: readRequiredTyp(r),
    issuers,
    allowHttpKeys,
    ephemeral
  }
}
