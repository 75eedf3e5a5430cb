import type { RedisClient } from './redis-client.js'

export interface ConnectionLogger {
  warn: (obj: object, msg: string) => void
  info: (obj: object, msg: string) => void
}

/**
 * Logs a Redis connection once per change of state: one warning at its first
 * error, one line when it is ready again with how many errors came between
 * and for how long. ioredis emits an error at every reconnect attempt (50 ms
 * to 1 s apart, per client), which made a Redis outage write 19 warnings in
 * 5 s. Returns whether the connection is down now.
 */
export function logConnectionChanges (client: RedisClient, what: string, log: ConnectionLogger, now: () => number = Date.now): () => boolean {
  let downSince: number | null = null
  let errors = 0
  client.on('error', (err: Error) => {
    errors++
    if (downSince !== null) return
    downSince = now()
    log.warn({ err: err.message }, `${what}: Redis unreachable; reconnecting (logged again once it is back)`)
  })
  client.on('ready', () => {
    if (downSince === null) return
    log.info({ errors, down_ms: now() - downSince }, `${what}: Redis reachable again`)
    downSince = null
    errors = 0
  })
  return () => downSince !== null
}
