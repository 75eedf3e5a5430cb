import cluster, { type Worker } from 'node:cluster'
import type { Logger } from 'pino'
import type { ClusterMessage } from './messages.js'

/** More crashes than this within the window is a crash loop: the primary gives up so the orchestrator sees it. */
const MAX_CRASHES = 10
const CRASH_WINDOW_MS = 60_000
const MAX_RESPAWN_DELAY_MS = 5000

export type SupervisorFailure = 'start' | 'crash-loop'

/**
 * Keeps `size` cluster workers running: forks them, replaces one that dies
 * (with a growing delay when they keep dying), and stops them by asking each to
 * drain. A worker that dies before any worker ever listened is a start-up
 * failure (a taken port, say), reported at once rather than retried.
 */
export class Supervisor {
  readonly #size: number
  readonly #log: Logger
  readonly #onFailure: (failure: SupervisorFailure) => void
  readonly #crashes: number[] = []
  #listened = false
  #stopping = false

  constructor (size: number, log: Logger, onFailure: (failure: SupervisorFailure) => void) {
    this.#size = size
    this.#log = log
    this.#onFailure = onFailure
  }

  /** Forks every worker; resolves once all of them listen (a start-up failure goes to onFailure instead). */
  async start (): Promise<void> {
    const workers = Array.from({ length: this.#size }, () => this.#fork())
    await Promise.all(workers.map(async (worker) => await new Promise((resolve) => worker.once('listening', resolve))))
  }

  get running (): Worker[] {
    return Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined && !worker.isDead())
  }

  /** Asks every worker to drain and resolves once all have exited. */
  async stop (): Promise<void> {
    this.#stopping = true
    await Promise.all(this.running.map(async (worker) => {
      const exited = new Promise((resolve) => worker.once('exit', resolve))
      send(worker, { type: 'tokengate:shutdown' })
      await exited
    }))
  }

  /** Start-up failed: nothing was served yet, so nothing needs draining. */
  kill (): void {
    this.#stopping = true
    for (const worker of this.running) worker.process.kill('SIGKILL')
  }

  #fork (): Worker {
    const worker = cluster.fork()
    worker.once('listening', () => { this.#listened = true })
    worker.once('exit', (code, signal) => this.#onExit(worker, code, signal))
    return worker
  }

  #onExit (worker: Worker, code: number, signal: string | null): void {
    if (this.#stopping) return
    if (!this.#listened) {
      this.#log.fatal({ worker: worker.id, code, signal }, 'worker failed to start')
      this.#onFailure('start')
      return
    }
    const now = Date.now()
    while (this.#crashes.length > 0 && now - this.#crashes[0] > CRASH_WINDOW_MS) this.#crashes.shift()
    this.#crashes.push(now)
    if (this.#crashes.length > MAX_CRASHES) {
      this.#log.fatal({ crashes: this.#crashes.length, windowS: CRASH_WINDOW_MS / 1000 }, 'workers keep exiting; giving up')
      this.#onFailure('crash-loop')
      return
    }
    const delay = Math.min(100 * 2 ** (this.#crashes.length - 1), MAX_RESPAWN_DELAY_MS)
    this.#log.error({ worker: worker.id, pid: worker.process.pid, code, signal, respawnInMs: delay }, 'worker exited; starting another')
    setTimeout(() => { if (!this.#stopping) this.#fork() }, delay)
  }
}

export function send (worker: Worker, message: ClusterMessage): void {
  // A worker that is exiting has no channel left; it needs no answer.
  if (worker.isConnected()) worker.send(message)
}
