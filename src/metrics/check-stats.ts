import type { Counter } from 'prom-client'
import type { CounterCell } from './buffered-counter.js'
import type { BufferedHistogram, HistogramCell } from './buffered-histogram.js'
import type { CheckObserver } from '../revocation/checker.js'

const SAMPLES = 2048

export interface CheckFamilies {
  readonly duration: BufferedHistogram<'outcome'>
  readonly hits: CounterCell
  readonly misses: Counter
  readonly storeErrors: Counter<'kind'>
}

export interface CheckSummary {
  readonly averageMs: number | null
  readonly p99Ms: number | null
  readonly hitRatio: number | null
  readonly storeErrors: number
}

/**
 * The checker's observer: feeds the Prometheus families and keeps the last
 * store lookups for the exact average and p99 the status page reports. A
 * check answered from the local state (the hot path) only bumps a counter.
 */
export class CheckStats implements CheckObserver {
  readonly #families: CheckFamilies
  readonly #recent = new Float64Array(SAMPLES)
  #next = 0
  #filled = 0
  #hits = 0
  #misses = 0
  #errors = 0

  readonly #durations: Readonly<Record<'miss' | 'error' | 'timeout', HistogramCell>>

  constructor (families: CheckFamilies) {
    this.#families = families
    this.#durations = {
      miss: families.duration.cell({ outcome: 'miss' }),
      error: families.duration.cell({ outcome: 'error' }),
      timeout: families.duration.cell({ outcome: 'timeout' })
    }
  }

  onLookup (durationMs: number, outcome: 'hit' | 'miss' | 'error' | 'timeout'): void {
    if (outcome === 'hit') {
      this.#hits++
      this.#families.hits.inc()
      return
    }
    this.#durations[outcome].observe(durationMs / 1000)
    this.#recent[this.#next] = durationMs
    this.#next = (this.#next + 1) % SAMPLES
    if (this.#filled < SAMPLES) this.#filled++
    this.#misses++
    this.#families.misses.inc()
    if (outcome !== 'miss') {
      this.#errors++
      this.#families.storeErrors.inc({ kind: outcome })
    }
  }

  summary (): CheckSummary {
    const samples = this.#recent.slice(0, this.#filled).sort()
    const total = this.#hits + this.#misses
    const round = (ms: number): number => Math.round(ms * 1000) / 1000
    return {
      averageMs: samples.length === 0 ? null : round(samples.reduce((sum, ms) => sum + ms, 0) / samples.length),
      p99Ms: samples.length === 0 ? null : round(samples[Math.min(samples.length - 1, Math.ceil(samples.length * 0.99) - 1)]),
      hitRatio: total === 0 ? null : Math.round((this.#hits / total) * 10_000) / 10_000,
      storeErrors: this.#errors
    }
  }
}
