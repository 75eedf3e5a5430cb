import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import type { Alert } from './alert.js'
import { within } from '../async/within.js'

export interface WebhookOptions {
  readonly capacity?: number
  /** Delays before each retry; the number of retries is its length. */
  readonly retryDelaysMs?: readonly number[]
  readonly timeoutMs?: number
}

export interface WebhookState {
  readonly configured: boolean
  readonly queued: number
  readonly capacity: number
  readonly delivered: number
  readonly failed: number
  readonly dropped: number
  readonly last_error: string | null
}

type Outcome = 'delivered' | 'failed' | 'dropped'

/**
 * Delivers alerts to ALERT_WEBHOOK_URL one at a time, in order, with retries.
 * enqueue() never waits: a full queue drops its oldest alert (the newest says
 * more about an incident in progress) and counts it.
 */
export class AlertWebhook {
  readonly #url: URL
  readonly #capacity: number
  readonly #retryDelaysMs: readonly number[]
  readonly #timeoutMs: number
  readonly #queue: Alert[] = []
  readonly #onOutcome: (outcome: Outcome) => void
  #running: Promise<void> | null = null
  // Aborts the request or retry wait in progress at close, so shutdown is not held up.
  readonly #abort = new AbortController()
  #closed = false
  #delivered = 0
  #failed = 0
  #dropped = 0
  #lastError: string | null = null

  constructor (url: Readonly<URL>, onOutcome: (outcome: Outcome) => void, options: WebhookOptions = {}) {
    this.#url = new URL(url.href)
    this.#onOutcome = onOutcome
    this.#capacity = options.capacity ?? 1000
    this.#retryDelaysMs = options.retryDelaysMs ?? [250, 1000, 4000]
    this.#timeoutMs = options.timeoutMs ?? 5000
  }

  enqueue (alert: Alert): void {
    if (this.#closed) return
    if (this.#queue.length >= this.#capacity) {
      this.#queue.shift()
      this.#count('dropped')
    }
    this.#queue.push(alert)
    this.#running ??= this.#drain().finally(() => { this.#running = null })
  }

  state (): WebhookState {
    return {
      configured: true,
      queued: this.#queue.length,
      capacity: this.#capacity,
      delivered: this.#delivered,
      failed: this.#failed,
      dropped: this.#dropped,
      last_error: this.#lastError
    }
  }

  /** Gives in-flight delivery a moment, then abandons the rest. */
  async close (graceMs = 1000): Promise<void> {
    this.#closed = true
    const running = this.#running
    if (running !== null) await within(running, graceMs, undefined)
    this.#abort.abort()
    this.#queue.length = 0
  }

  async #drain (): Promise<void> {
    for (let alert = this.#queue.shift(); alert !== undefined && !this.#closed; alert = this.#queue.shift()) {
      this.#count(await this.#deliver(alert) ? 'delivered' : 'failed')
    }
  }

  async #deliver (alert: Alert): Promise<boolean> {
    const body = JSON.stringify({ source: 'tokengate', alert })
    for (let attempt = 0; ; attempt++) {
      try {
        // undici's request, loaded at start-up: the global fetch loads itself on first use (~45 ms of blocking).
        const response = await request(this.#url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.any([AbortSignal.timeout(this.#timeoutMs), this.#abort.signal])
        })
        await response.body.dump()
        if (response.statusCode >= 200 && response.statusCode < 300) return true
        this.#lastError = `HTTP ${response.statusCode}`
      } catch (err) {
        this.#lastError = (err as Error).message
      }
      const delay = this.#retryDelaysMs[attempt]
      if (delay === undefined || this.#closed) return false
      try {
        await sleep(delay, undefined, { signal: this.#abort.signal })
      } catch {
        return false
      }
    }
  }

  #count (outcome: Outcome): void {
    if (outcome === 'delivered') this.#delivered++
    else if (outcome === 'failed') this.#failed++
    else this.#dropped++
    this.#onOutcome(outcome)
  }
}
