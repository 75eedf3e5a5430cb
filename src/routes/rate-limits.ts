import rateLimitPlugin from '@fastify/rate-limit'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config/types.js'
import { Failures } from '../errors.js'
import { createRedisClient, type RedisClient } from '../revocation/redis-client.js'

const MINUTE_MS = 60_000

/** Route config: `perMinute` requests per caller (client IP); 0 disables the limit. */
export function rateLimit (perMinute: number): { rateLimit: false | { max: number, timeWindow: number } } {
  return { rateLimit: perMinute > 0 ? { max: perMinute, timeWindow: MINUTE_MS } : false }
}

/**
 * @fastify/rate-limit for the routes that opt in. With Redis the counters are
 * shared by every replica; if Redis cannot answer the limit is skipped
 * (skipOnError) rather than refusing logouts: revocation writes fail safely on
 * their own. The caller is the client address (X-Forwarded-For only from
 * TRUSTED_PROXIES), never an unverified token claim.
 */
export async function registerRateLimits (app: FastifyInstance, config: Config): Promise<void> {
  let redis: RedisClient | null = null
  if (config.redis !== null) {
    redis = createRedisClient(config.redis, { name: 'ratelimit', commandTimeoutMs: 250 })
    redis.on('error', (err: Error) => app.log.warn({ err: err.message }, 'rate-limit redis error'))
    redis.connect().catch(() => {})
    app.addHook('onClose', async () => { await redis?.quit().catch(() => redis?.disconnect()) })
  }
  await app.register(rateLimitPlugin, {
    global: false,
    skipOnError: true,
    keyGenerator: (request) => request.ip,
    ...(redis !== null && { redis, nameSpace: `${config.redis?.keyPrefix ?? ''}ratelimit:` }),
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      code: Failures.RATE_LIMITED.code,
      message: `rate limit of ${context.max} per minute exceeded; retry in ${context.after}`
    })
  })
}
