import type { FastifyBaseLogger } from 'fastify'
import type { Counter } from 'prom-client'
import { Failures, type Failure } from '../errors.js'
import { LineBudget } from './line-budget.js'

export type RefusalMode = 'proxy' | 'forward_auth'

/**
 * The refusals each mode makes before the decision (forward-auth.ts, proxy.ts):
 * their series are exported at 0 from the start, because a series born at 1
 * hides its first event from increase(), and so from the alert rules.
 */
export const EARLY_REFUSALS: Readonly<Record<RefusalMode, readonly Failure[]>> = {
  forward_auth: [Failures.HEADER_AMBIGUOUS, Failures.ORIGINAL_CONFLICT, Failures.ORIGINAL_URI_MISSING, Failures.PATH_AMBIGUOUS,
    Failures.PATH_UNICODE, Failures.PATH_NOT_NORMAL, Failures.METHOD_OVERRIDE],
  proxy: [Failures.BAD_REQUEST, Failures.PATH_AMBIGUOUS, Failures.PATH_UNICODE, Failures.METHOD_OVERRIDE]
}

/** What a refusal line may say about the request: never the token, never query values. */
export interface RefusedRequest {
  readonly ip: string
  /** The path as sent (or the original URI's), query excluded; cut to PATH_CHARS. */
  readonly path: string
}

export interface RefusalReportOptions {
  readonly counter: Counter<'mode' | 'reason'>
  /** The modes this gateway serves: their series start at 0. */
  readonly modes: readonly RefusalMode[]
  readonly log: FastifyBaseLogger
  /** Log lines per reason per second; past it lines are counted and reported as `suppressed` on the next line. */
  readonly linesPerSecond?: number
  readonly now?: () => number
}

// Enough to tell the spelling a scanner probes, too little to carry a payload or a secret.
const PATH_CHARS = 48
const DEFAULT_LINES_PER_SECOND = 5

/**
 * Requests refused before the decision (ambiguous or not-normal paths,
 * override headers or parameters, a missing original URI, a bad request
 * target): counted by mode and reason, and logged at warn, at most
 * `linesPerSecond` lines per reason, so that a scanner probing encodings is
 * visible without flooding the log. Reasons come from the error registry:
 * the map and the label set stay bounded.
 */
export class RefusalReport {
  readonly #counter: Counter<'mode' | 'reason'>
  readonly #log: FastifyBaseLogger
  readonly #lines: LineBudget

  constructor ({ counter, modes, log, linesPerSecond = DEFAULT_LINES_PER_SECOND, now = Date.now }: RefusalReportOptions) {
    this.#counter = counter
    for (const mode of modes) for (const { reason } of EARLY_REFUSALS[mode]) counter.inc({ mode, reason }, 0)
    this.#log = log
    this.#lines = new LineBudget({ lines: linesPerSecond, windowMs: 1000, now })
  }

  refused (mode: RefusalMode, failure: Failure, request: RefusedRequest): void {
    const reason = failure.reason
    this.#counter.inc({ mode, reason })
    const suppressed = this.#lines.take(reason)
    if (suppressed === -1) return
    this.#log.warn({ mode, reason, code: failure.code, ip: request.ip, path: request.path.slice(0, PATH_CHARS), suppressed },
      'request refused before the decision')
  }
}
