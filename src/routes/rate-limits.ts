import { createHash } from 'node:crypto'
import rateLimitPlugin, { normalizeIP } from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Failures } from '../errors.js'
import { sendFailure } from '../server/failure-reply.js'
import { createRedisClient, type RedisClient, type RedisConfig } from '../redis/redis-client.js'
import { logConnectionChanges } from '../redis/connection-log.js'
import type { Claims } from '../tokens/claims.js'
import { within } from '../async/within.js'

/** Per minute; 0 disables a limit. */
export interface RateLimitConfig {
  /** Per verified subject (and client). */
  readonly logoutPerMinute: number
  readonly revokePerMinute: number
  readonly adminPerMinute: number
  /** Refused bearer attempts (no, bad or revoked token) per address. */
  readonly unauthenticatedPerMinute: number
  readonly refreshPerMinute: number
  /** Failed refresh attempts per address. */
  readonly refreshPerAddressPerMinute: number
  readonly oauthPerAddressPerMinute: number
  /** Failed client authentications on /oauth/* per address and client id. */
  readonly clientAuthFailuresPerMinute: number
}

/** What the rate limits read of the configuration. */
export interface RateLimitOptions {
  readonly redis: RedisConfig | null
  readonly rateLimits: RateLimitConfig
}

const MINUTE_MS = 60_000
const CONNECT_WAIT_MS = 2000
const IPV6_PREFIX_BITS = 64

/** One budget per key per minute. Over it, the methods answer 429 themselves and return false. */
export interface Limiter {
  /** Counts one request against `key`. */
  hit: (request: FastifyRequest, reply: FastifyReply, key: string) => Promise<boolean>
  /** Counts nothing; false when `key` has already used its whole budget. */
  check: (request: FastifyRequest, reply: FastifyReply, key: string) => Promise<boolean>
}

/** Every limit, built once so that routes sharing one (refused bearer attempts) share its counters. */
export interface RateLimits {
  /** Bearer routes: attempts refused for want of a usable token, per address; never a user's budget. */
  readonly refusedBearer: Limiter
  /** Bearer routes, per verified subject (and client). */
  readonly logout: Limiter
  readonly revoke: Limiter
  readonly admin: Limiter
  /** Refresh attempts that failed (no usable refresh token), per address; a verified one never counts. */
  readonly refreshPerAddress: Limiter
  /** Refresh, per subject once the refresh token verified. */
  readonly refreshPerSubject: Limiter
  readonly oauthPerAddress: Limiter
  /** Failed client authentication on /oauth/*, per address and presented client id. */
  readonly clientAuthFailures: Limiter
}

/** The client address, IPv6 cut to its /64 (one host usually holds a whole /64). */
export function addressKey (request: FastifyRequest): string {
  return normalizeIP(request.ip, IPV6_PREFIX_BITS)
}

/** Issuer, subject and client (client_id or azp) of a verified token, hashed: bounded, and no claim text in Redis keys. */
export function subjectKey (claims: Claims): string {
  const client = typeof claims.client_id === 'string' ? claims.client_id : typeof claims.azp === 'string' ? claims.azp : ''
  return createHash('sha256').update(`${claims.iss ?? ''}\n${claims.sub}\n${client}`).digest('base64url').slice(0, 22)
}

function refuse (reply: FastifyReply, retryAfterS: number): false {
  reply.header('retry-after', String(Math.max(1, retryAfterS)))
  sendFailure(reply, Failures.RATE_LIMITED)
  return false
}

const UNLIMITED: Limiter = { hit: async () => true, check: async () => true }

function createLimiter (app: FastifyInstance, name: string, perMinute: number): Limiter {
  if (perMinute === 0) return UNLIMITED
  const keys = new WeakMap<FastifyRequest, string>()
  const limit = app.createRateLimit({ max: perMinute, timeWindow: MINUTE_MS, keyGenerator: (request) => `${name}:${keys.get(request) ?? ''}` })
  return {
    async hit (request, reply, key) {
      keys.set(request, key)
      const verdict = await limit(request)
      return verdict.isAllowed || !verdict.isExceeded || refuse(reply, verdict.ttlInSeconds)
    },
    async check (request, reply, key) {
      keys.set(request, key)
      const verdict = await limit(request, { increment: false })
      return verdict.isAllowed || verdict.remaining > 0 || refuse(reply, verdict.ttlInSeconds)
    }
  }
}

/**
 * @fastify/rate-limit's store, used through createRateLimit so that each
 * limit counts after the step that gives it its key (authentication for the
 * bearer routes). With Redis the counters are shared by every replica; if
 * Redis cannot answer the limit is skipped (skipOnError) rather than refusing
 * logouts: revocation writes fail safely on their own. Addresses come from
 * X-Forwarded-For only behind TRUSTED_PROXIES, subjects only from verified tokens.
 */
export async function registerRateLimits (app: FastifyInstance, config: RateLimitOptions): Promise<void> {
  let redis: RedisClient | null = null
  if (config.redis !== null) {
    redis = createRedisClient(config.redis, { name: 'ratelimit', commandTimeoutMs: 250 })
    logConnectionChanges(redis, 'rate limits', app.log)
    // Limits count from the first request: wait briefly for the connection (commands are not queued offline).
    await within(redis.connect(), CONNECT_WAIT_MS, undefined)
    app.addHook('onClose', async () => { await redis?.quit().catch(() => redis?.disconnect()) })
  }
  await app.register(rateLimitPlugin, {
    global: false,
    skipOnError: true,
    ...(redis !== null && { redis, nameSpace: `${config.redis?.keyPrefix ?? ''}ratelimit:` })
  })
  const perMinute = config.rateLimits
  const limits: RateLimits = {
    refusedBearer: createLimiter(app, 'refused', perMinute.unauthenticatedPerMinute),
    logout: createLimiter(app, 'logout', perMinute.logoutPerMinute),
    revoke: createLimiter(app, 'revoke', perMinute.revokePerMinute),
    admin: createLimiter(app, 'admin', perMinute.adminPerMinute),
    refreshPerAddress: createLimiter(app, 'refresh-address', perMinute.refreshPerAddressPerMinute),
    refreshPerSubject: createLimiter(app, 'refresh', perMinute.refreshPerMinute),
    oauthPerAddress: createLimiter(app, 'oauth', perMinute.oauthPerAddressPerMinute),
    clientAuthFailures: createLimiter(app, 'client-auth-failures', perMinute.clientAuthFailuresPerMinute)
  }
  app.decorate('rateLimits', limits)
}

type PreHandler = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>

/** Guard option: a refused bearer attempt counts against its address (and is answered 429 past the limit). */
export function countRefusedPerAddress (limits: RateLimits): (request: FastifyRequest, reply: FastifyReply) => Promise<boolean> {
  return async (request, reply) => !(await limits.refusedBearer.hit(request, reply, addressKey(request)))
}

/** preHandler after a guard: the verified subject's budget on this limiter. */
export function perSubject (limiter: Limiter): PreHandler {
  return async (request, reply) => {
    const claims = request.tokengateClaims
    if (claims !== null && !(await limiter.hit(request, reply, subjectKey(claims)))) return reply
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    rateLimits: RateLimits
  }
}
