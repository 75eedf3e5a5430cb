/** Latency samples in ms, kept as a growable Float64Array (a run is ~10^5 samples). */
export class Samples {
  #values = new Float64Array(1 << 16)
  #length = 0

  add (ms) {
    if (this.#length === this.#values.length) {
      const bigger = new Float64Array(this.#values.length * 2)
      bigger.set(this.#values)
      this.#values = bigger
    }
    this.#values[this.#length++] = ms
  }

  get length () { return this.#length }

  /** Percentiles (0-100) by nearest rank; null when empty. */
  percentiles (ps) {
    if (this.#length === 0) return ps.map(() => null)
    const sorted = this.#values.slice(0, this.#length).sort()
    return ps.map((p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))])
  }
}

export function median (values) {
  const sorted = values.filter((v) => v !== null && Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return null
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

export function mean (values) {
  const usable = values.filter((v) => v !== null && Number.isFinite(v))
  return usable.length === 0 ? null : usable.reduce((a, b) => a + b, 0) / usable.length
}

export function round (value, digits = 2) {
  if (value === null || value === undefined || !Number.isFinite(value)) return null
  const f = 10 ** digits
  return Math.round(value * f) / f
}
