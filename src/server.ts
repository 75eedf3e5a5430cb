import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.js'
import { loadConfig } from './config/load.js'
import type { Config } from './config/types.js'
import { ConfigError } from './errors.js'

const SHUTDOWN_GRACE_MS = 10_000

function devBanner (config: Config, app: FastifyInstance): string {
  const issuer = app.tokengate.issuer
  if (issuer === null) return ''
  const { token } = issuer.mint({ sub: 'dev-user', ttlS: config.accessTokenTtlS, sid: 'dev-session', claims: { scope: 'read write', roles: ['user'] } })
  const bound = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host
  const host = bound.includes(':') ? `[${bound}]` : bound
  // PORT=0 picks a free port: print the one actually bound.
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : config.port
  const base = `http://${host}:${port}`
  return [
    '',
    'tokengate development instance: ephemeral HS256 key, in-memory revocation store. Not for production.',
    `A token for sub "dev-user", valid ${config.accessTokenTtlS / 60} minutes:`,
    '',
    `  export TOKEN=${token}`,
    '',
    'Try it:',
    `  curl -i ${base}/auth/verify -H "Authorization: Bearer $TOKEN"      # 200 with X-User-Id`,
    `  curl -i -X POST ${base}${config.authPrefix}/logout -H "Authorization: Bearer $TOKEN"`,
    `  curl -i ${base}${config.authPrefix}/verify -H "Authorization: Bearer $TOKEN"      # now 401 revoked`,
    ''
  ].join('\n').replaceAll(`${base}/auth/verify`, `${base}${config.authPrefix}/verify`)
}

/** Loads configuration, builds the app, listens, and drains on SIGTERM/SIGINT. */
export async function serve (env: NodeJS.ProcessEnv = process.env): Promise<FastifyInstance | null> {
  let config: Config
  try {
    config = loadConfig(env)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`tokengate: ${err.message}\n`)
    process.exitCode = 1
    return null
  }
  const app = await buildApp(config)
  closeWithGrace({ delay: SHUTDOWN_GRACE_MS }, async ({ signal, err }) => {
    if (err !== undefined) app.log.error({ err }, 'shutting down after an error')
    else app.log.info({ signal }, 'draining and shutting down')
    await app.close()
  })
  await app.listen({ port: config.port, host: config.host })
  if (config.development) process.stdout.write(devBanner(config, app) + '\n')
  return app
}
