import { randomFillSync } from 'node:crypto'
import { SamplingDecision, type Context, type SpanKind } from '@opentelemetry/api'
import type { IdGenerator, Sampler, SamplingResult } from '@opentelemetry/sdk-trace'

// Ids for 512 trace ids at a time: one random fill and one hex conversion, then slices of a flat
// string. The SDK's generator converts each id alone (a third of an unsampled span's cost).
const POOL_BYTES = 8192
const ZEROS = /^0+$/

/** Random trace and span ids (W3C Trace Context §3.2.2.3: random, never all zero), from crypto. */
export class PooledIdGenerator implements IdGenerator {
  readonly #bytes = Buffer.allocUnsafe(POOL_BYTES)
  #hex = ''
  #offset = 0

  generateTraceId (): string {
    return this.#take(32)
  }

  generateSpanId (): string {
    return this.#take(16)
  }

  #take (chars: number): string {
    if (this.#offset + chars > this.#hex.length) {
      this.#hex = randomFillSync(this.#bytes).toString('hex')
      this.#offset = 0
    }
    const id = this.#hex.slice(this.#offset, this.#offset += chars)
    return ZEROS.test(id) ? this.#take(chars) : id
  }
}

const NOT_RECORDED: SamplingResult = Object.freeze({ decision: SamplingDecision.NOT_RECORD })
const SAMPLED: SamplingResult = Object.freeze({ decision: SamplingDecision.RECORD_AND_SAMPLED })
const RANDOM_BITS = 2 ** 56

/**
 * OTEL_TRACES_SAMPLER=traceidratio as the OpenTelemetry specification now
 * defines it: a trace is sampled when the rightmost 56 bits of its (random)
 * id reach the threshold (1 - ratio) * 2^56, so that every party sampling at
 * a ratio keeps the same traces. One parse instead of the SDK's
 * character-by-character accumulation.
 */
export class TraceIdRatioSampler implements Sampler {
  readonly #ratio: number
  /**
   * The threshold in 14 lowercase hex digits (ids of one length compare as their numbers do);
   * null when it is 2^56 or more: a ratio too small to sample anything.
   */
  readonly #threshold: string | null

  constructor (ratio: number) {
    this.#ratio = ratio
    const threshold = Math.ceil((1 - ratio) * RANDOM_BITS)
    this.#threshold = threshold >= RANDOM_BITS ? null : threshold.toString(16).padStart(14, '0')
  }

  shouldSample (_context: Context, traceId: string, _name: string, _kind: SpanKind): SamplingResult {
    if (this.#threshold === null) return NOT_RECORDED
    return traceId.slice(18) >= this.#threshold ? SAMPLED : NOT_RECORDED
  }

  toString (): string {
    return `TraceIdRatioSampler{${this.#ratio}}`
  }
}
