import type { HistogramCell } from '../metrics/buffered-histogram.js'
import type { GatewayMetrics } from '../metrics/metrics.js'
import { cutJti } from '../security/sink.js'
import { LineBudget } from '../server/line-budget.js'
import type { AuthorizationRequest, Authorization } from './authorize.js'
import type { TraceSpan } from '../tracing/tracing.js'

export type DecisionMode = 'forward_auth' | 'proxy'

/** What the decision log reads of the configuration. */
export interface DecisionLogOptions {
  /** DECISION_LOG_SAMPLE: the share of allows logged (0 to 1); every refusal is logged, within the budget. */
  readonly sample: number
  /** DECISION_LOG_LINES_PER_S: refusal lines per reason per second; past it they are counted as `suppressed`. */
  readonly linesPerSecond: number
}

export interface DecisionLogger {
  info: (obj: object, msg: string) => void
}

// Enough to tell the route apart, too little to carry a payload.
const PATH_CHARS = 96

type Outcome = Authorization['kind']

/**
 * One record per decision, for both modes: its latency in
 * tokengate_decision_duration_seconds{mode,outcome}, and a JSON line per
 * refusal (and per sampled allow): who was refused, where, why, how fast.
 * Never a token or a query: the path is the canonical one, cut; the subject
 * and jti only from a token whose signature verified, the jti cut as the
 * audit log cuts it. A flood of junk tokens is bounded to `linesPerSecond`
 * lines per reason, each carrying how many it stands for.
 */
export class DecisionLog {
  readonly #mode: DecisionMode
  readonly #log: DecisionLogger
  readonly #sample: number
  readonly #lines: LineBudget
  readonly #cells: Readonly<Record<Outcome, HistogramCell>>

  constructor (mode: DecisionMode, metrics: GatewayMetrics, log: DecisionLogger, options: DecisionLogOptions) {
    this.#mode = mode
    this.#log = log
    this.#sample = options.sample
    this.#lines = new LineBudget({ lines: options.linesPerSecond, windowMs: 1000 })
    const cell = (outcome: Outcome): HistogramCell => metrics.decisionDuration.cell({ mode, outcome })
    this.#cells = { allowed: cell('allowed'), denied: cell('denied'), public: cell('public') }
  }

  /** `startedAt`: performance.now() when the decision began; `span`: its trace span when tracing is on (the line names its trace). */
  record (request: AuthorizationRequest, method: string, path: string | null, decision: Authorization, startedAt: number, span?: TraceSpan): void {
    const seconds = (performance.now() - startedAt) / 1000
    this.#cells[decision.kind].observe(seconds)
    if (decision.kind === 'denied') {
      const suppressed = this.#lines.take(decision.failure.reason)
      if (suppressed !== -1) this.#write(request, method, path, decision, seconds, suppressed, span)
    } else if (this.#sample > 0 && Math.random() < this.#sample) {
      this.#write(request, method, path, decision, seconds, 0, span)
    }
  }

  #write (request: AuthorizationRequest, method: string, path: string | null, decision: Authorization, seconds: number, suppressed: number, span: TraceSpan | undefined): void {
    const claims = decision.kind === 'allowed' ? decision.claims : decision.kind === 'denied' ? decision.auth?.claims : undefined
    const failure = decision.kind === 'denied' ? decision.failure : null
    this.#log.info({
      decision: decision.kind,
      reqId: request.id,
      mode: this.#mode,
      method,
      path: path === null ? null : path.slice(0, PATH_CHARS),
      status: failure?.status ?? 200,
      code: failure?.code ?? null,
      reason: failure?.reason ?? null,
      iss: claims?.iss ?? null,
      sub: claims?.sub ?? null,
      jti: cutJti(claims?.jti),
      ip: request.ip,
      latency_us: Math.round(seconds * 1e6),
      ...(span !== undefined && { traceId: span.traceId }),
      ...(suppressed > 0 && { suppressed })
    }, 'decision')
  }
}
