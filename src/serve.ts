import cluster from 'node:cluster'
import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.js'
import { runPrimary } from './cluster/primary.js'
import { WorkerLink } from './cluster/worker-link.js'
import { loadConfig } from './config/load.js'
import type { Config } from './config/types.js'
import { watchFiles, type FileWatch } from './server/file-watch.js'

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

/**
 * Loads configuration, builds the app, listens, and drains on SIGTERM/SIGINT.
 * With WORKERS > 1 the first process becomes the cluster primary (see
 * cluster/primary.ts) and returns null; each worker runs this same function.
 * Bad configuration, checked from the environment or at start-up against the
 * outside (an issuer's metadata), throws a ConfigError before anything listens.
 */
export async function serve (env: Readonly<Record<string, string | undefined>> = process.env): Promise<FastifyInstance | null> {
  const config = loadConfig(env)
  if (config.workers > 1 && cluster.isPrimary) {
    await runPrimary(config)
    return null
  }
  let draining = false
  let stop = (): void => {}
  let stopReloads = (): void => {}
  // A worker drains when the primary says so, or when the primary is gone; a terminal's
  // Ctrl-C reaches the whole process group, and only the primary acts on it.
  const worker = cluster.isWorker ? new WorkerLink(() => stop()) : undefined
  const primaryGone = (): void => { stop() }
  if (worker !== undefined) {
    process.on('SIGINT', () => {})
    process.once('disconnect', primaryGone)
  }
  let app: FastifyInstance
  try {
    app = await buildApp(config, { worker })
  } catch (err) {
    // A worker's IPC channel would keep it alive: the primary learns of the failure from its exit.
    if (worker !== undefined) {
      process.off('disconnect', primaryGone)
      process.disconnect()
    }
    throw err
  }
  // logrotate renamed AUDIT_LOG_FILE: reopen it. Kept apart from any configuration reload on the same
  // signal, so the file reopens whether or not a reload succeeds. A worker owns no file (its records
  // go to the primary), but SIGHUP must not end it either.
  const reopenAudit = (): void => {
    app.tokengate.security.reopenAudit()
    if (worker === undefined && config.auditLogFile !== null) app.log.info({}, 'audit log reopened (SIGHUP)')
  }
  process.on('SIGHUP', reopenAudit)
  app.server.once('close', () => { process.off('SIGHUP', reopenAudit) })
  // Stop accepting, let in-flight requests (streams included) finish, close Redis; past the grace, exit anyway.
  const grace = closeWithGrace({
    delay: config.shutdownGraceMs === 0 ? undefined : config.shutdownGraceMs,
    // SIGHUP reopens the audit file and reloads the configuration (reloadOnSignalAndChange): close-with-grace would drain on it.
    skip: worker === undefined ? ['SIGHUP'] : ['SIGINT', 'SIGHUP']
  }, async ({ signal, err }) => {
    draining = true
    stopReloads()
    if (err !== undefined) app.log.error({ err }, 'shutting down after an error')
    else app.log.info({ signal }, 'draining and shutting down')
    await drain(app)
  })
  stop = () => { if (!draining) grace.close() }
  try {
    await app.listen({ port: config.port, host: config.host })
  } catch (err) {
    // A taken port, say: close Redis and the rest so the process ends with the error instead of idling.
    grace.uninstall()
    process.off('SIGHUP', reopenAudit)
    await app.close()
    if (worker !== undefined) {
      // The IPC channel would keep a worker alive; the primary learns of the failure from its exit.
      process.off('disconnect', primaryGone)
      process.disconnect()
    }
    throw err
  }
  // Once per start: a cluster's primary logs it for every worker.
  if (worker === undefined) app.log.info({ file: config.source.file, settings: config.source.effective }, 'effective configuration (secrets redacted)')
  stopReloads = reloadOnSignalAndChange(app, env, config, worker === undefined)
  if (config.development) process.stdout.write(devBanner(config, app) + '\n')
  return app
}

/**
 * SIGHUP, and a change of a watched file (the configuration file, access rules, issuer and key
 * files), reload the configuration (app.tokengateReload). A cluster worker only answers SIGHUP:
 * its primary watches the files and passes the signal on.
 */
function reloadOnSignalAndChange (app: FastifyInstance, env: Readonly<Record<string, string | undefined>>, config: Config, watch: boolean): () => void {
  let watched = config.source.watched
  let files: FileWatch | null = null
  const reload = (trigger: string): void => {
    app.tokengateReload(() => loadConfig(env), trigger).then((outcome) => {
      // A reload may name other files (ACCESS_RULES_FILE in the configuration file): watch those.
      if (outcome.ok && watch && outcome.config.source.watched.join('\n') !== watched.join('\n')) {
        watched = outcome.config.source.watched
        files?.close()
        files = watchFiles(watched, onChange, { log: app.log })
      }
    }, (err: unknown) => { app.log.error({ err }, 'configuration reload failed') })
  }
  let stopped = false
  const onChange = (changed: readonly string[]): void => { if (!stopped) reload(`changed ${changed.join(', ')}`) }
  // Kept while draining, answering nothing: SIGHUP's default action would end the process.
  process.on('SIGHUP', () => { if (!stopped) reload('SIGHUP') })
  if (watch) files = watchFiles(watched, onChange, { log: app.log })
  return () => {
    stopped = true
    files?.close()
  }
}
