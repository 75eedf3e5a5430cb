import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.js'
import { loadConfig } from './config/load.js'
import type { Config } from './config/types.js'
import { ConfigError } from './errors.js'

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

const IDLE_SWEEP_MS = 50

/**
 * app.close() stops listening and waits for every connection to end. A
 * keep-alive connection whose request was in flight at the signal becomes idle
 * only once its response is sent, and nothing closes it then: sweep idle
 * connections until the server is closed.
 */
async function drain (app: FastifyInstance): Promise<void> {
  const sweep = setInterval(() => { app.server.closeIdleConnections() }, IDLE_SWEEP_MS)
  try {
    await app.close()
  } finally {
    clearInterval(sweep)
  }
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
  // Stop accepting, let in-flight requests (streams included) finish, close Redis; past the grace, exit anyway.
  closeWithGrace({ delay: config.shutdownGraceMs === 0 ? undefined : config.shutdownGraceMs }, async ({ signal, err }) => {
    if (err !== undefined) app.log.error({ err }, 'shutting down after an error')
    else app.log.info({ signal }, 'draining and shutting down')
    await drain(app)
  })
  await app.listen({ port: config.port, host: config.host })
  if (config.development) process.stdout.write(devBanner(config, app) + '\n')
  return app
}
