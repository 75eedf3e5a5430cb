import cluster from 'node:cluster'
import closeWithGrace from 'close-with-grace'
import { pino } from 'pino'
import { AggregatorRegistry } from 'prom-client'
import type { Config } from '../config/types.js'
import { closeMetricsServer, listenMetricsServer } from '../server/metrics-listener.js'
import { AuditLog } from '../security/audit-log.js'
import { LOG_REDACT } from '../server/log-redact.js'
import { watchFiles } from '../server/file-watch.js'
import { isMessage } from './messages.js'
import { send, Supervisor } from './supervisor.js'

// Workers get SHUTDOWN_GRACE_MS each; the primary waits a little longer for them to report their exit.
const EXIT_MARGIN_MS = 2000

/**
 * WORKERS > 1: this process serves no requests. It forks the workers (each a
 * full gateway sharing the listening port), replaces those that die, owns the
 * audit chain (records arrive over IPC, so one file holds one chain), sums
 * every worker's metrics with prom-client's AggregatorRegistry, and on
 * SIGTERM/SIGINT asks every worker to drain before it exits.
 */
export async function runPrimary (config: Config): Promise<void> {
  const log = pino({ level: config.logLevel, redact: LOG_REDACT }).child({ role: 'primary' })
  const audit = new AuditLog(config.auditLogFile, log)
  // logrotate's postrotate signal: the primary owns the one audit file (docs/operations.md).
  process.on('SIGHUP', () => {
    audit.reopen()
    log.info({}, 'audit log reopened (SIGHUP)')
  })
  const aggregator = new AggregatorRegistry()
  const metricsText = async (): Promise<string> => await aggregator.clusterMetrics()

  cluster.on('message', (worker, message: unknown) => {
    if (isMessage(message, 'tokengate:audit')) audit.append(message.fields)
    else if (isMessage(message, 'tokengate:metrics-request')) {
      metricsText().then(
        (text) => send(worker, { type: 'tokengate:metrics-response', id: message.id, text }),
        (err: Error) => {
          log.warn({ err: err.message }, 'metrics aggregation failed')
          send(worker, { type: 'tokengate:metrics-response', id: message.id, text: null })
        }
      )
    }
  })

  const metricsServer = config.metricsPort === null ? null : await listenMetricsServer(metricsText, config.metricsPort, config.host)
  const shutDown = async (): Promise<void> => {
    await supervisor.stop()
    if (metricsServer !== null) await closeMetricsServer(metricsServer)
    await audit.close()
  }
  const supervisor = new Supervisor(config.workers, log, (failure) => {
    if (failure === 'start') {
      supervisor.kill()
      process.exit(1)
    }
    shutDown().finally(() => process.exit(70))
  })
  // Every worker reloads its own configuration: the primary passes SIGHUP on, and turns a change
  // of a watched file into one. (It watches the files named at start.)
  const reloadWorkers = (): void => {
    for (const worker of supervisor.running) worker.process.kill('SIGHUP')
  }
  process.on('SIGHUP', reloadWorkers)
  const files = watchFiles(config.source.watched, reloadWorkers, { log })
  closeWithGrace({ delay: config.shutdownGraceMs === 0 ? undefined : config.shutdownGraceMs + EXIT_MARGIN_MS, skip: ['SIGHUP'] }, async ({ signal, err }) => {
    if (err !== undefined) log.error({ err }, 'primary shutting down after an error')
    else log.info({ signal, workers: supervisor.running.length }, 'draining workers and shutting down')
    files.close()
    await shutDown()
  })
  log.info({ file: config.source.file, settings: config.source.effective }, 'effective configuration (secrets redacted)')
  await supervisor.start()
  log.info({ workers: config.workers, port: config.port, metricsPort: config.metricsPort }, 'workers listening')
}
