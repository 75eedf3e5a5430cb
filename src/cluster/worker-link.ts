import { AggregatorRegistry, type Registry } from 'prom-client'
import type { AuditFields } from '../security/audit-chain.js'
import type { AuditTrail } from '../security/audit-log.js'
import { isMessage, type ClusterMessage } from './messages.js'

const METRICS_TIMEOUT_MS = 5000

interface Pending { resolve: (text: string) => void, reject: (err: Error) => void, timer: NodeJS.Timeout }

/**
 * A cluster worker's side of the IPC channel: audit records go to the primary
 * (one process owns the hash chain), /metrics asks the primary for the sum of
 * every worker's registry, and the primary's shutdown request starts this
 * worker's drain.
 */
export class WorkerLink implements AuditTrail {
  readonly #pending = new Map<number, Pending>()
  readonly #onShutdown: () => void
  #nextId = 0

  constructor (onShutdown: () => void) {
    this.#onShutdown = onShutdown
    process.on('message', this.#onMessage)
  }

  /** Answers the primary's aggregation requests from this registry. */
  shareMetrics (registry: Registry): void {
    AggregatorRegistry.setRegistries([registry])
    // prom-client installs its worker-side responder when an AggregatorRegistry is constructed.
    // eslint-disable-next-line no-new
    new AggregatorRegistry()
  }

  append (fields: AuditFields): void {
    this.#send({ type: 'tokengate:audit', fields })
  }

  async close (): Promise<void> {
    process.off('message', this.#onMessage)
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer)
      pending.reject(new Error('worker closing'))
    }
    this.#pending.clear()
  }

  /** Every worker's metrics, summed by the primary. */
  async clusterMetrics (): Promise<string> {
    const id = this.#nextId++
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new Error('the primary did not answer the metrics request'))
      }, METRICS_TIMEOUT_MS)
      this.#pending.set(id, { resolve, reject, timer })
      this.#send({ type: 'tokengate:metrics-request', id })
    })
  }

  #send (message: ClusterMessage): void {
    if (process.connected) process.send?.(message)
  }

  readonly #onMessage = (message: unknown): void => {
    if (isMessage(message, 'tokengate:shutdown')) {
      this.#onShutdown()
      return
    }
    if (!isMessage(message, 'tokengate:metrics-response')) return
    const pending = this.#pending.get(message.id)
    if (pending === undefined) return
    this.#pending.delete(message.id)
    clearTimeout(pending.timer)
    if (message.text === null) pending.reject(new Error('the primary could not aggregate metrics'))
    else pending.resolve(message.text)
  }
}
