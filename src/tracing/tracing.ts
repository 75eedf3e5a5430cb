import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'

/** The samplers of OTEL_TRACES_SAMPLER that tokengate builds (the OpenTelemetry specification's built-in ones). */
export const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const
export type SamplerName = typeof SAMPLERS[number]

/**
 * What the tracing component reads of the configuration (OTEL_*). The OTLP
 * exporter reads its own variables (endpoint, headers, timeout, certificates)
 * and the resource its own (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES);
 * config/ validated them. These are the ones the SDK no longer reads itself.
 */
export interface TracingOptions {
  /** OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG (the ratio of the ratio samplers). */
  readonly sampler: SamplerName
  readonly ratio: number
  /** OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_MAX_EXPORT_BATCH_SIZE, OTEL_BSP_EXPORT_TIMEOUT. */
  readonly batch: {
    readonly scheduledDelayMillis: number
    readonly maxQueueSize: number
    readonly maxExportBatchSize: number
    readonly exportTimeoutMillis: number
  }
  /** The package's version, the resource's service.version. */
  readonly version?: string
}

export type SpanValue = string | number | boolean
export type SpanAttributes = Readonly<Record<string, SpanValue>>

/** A span tokengate started: only what it needs of one. Ending twice is harmless. */
export interface TraceSpan {
  readonly traceId: string
  set: (name: string, value: SpanValue) => void
  /** Marks the span failed (status ERROR) with a message that names no token or secret. */
  fail: (message: string) => void
  end: () => void
}

/**
 * Traces, when OTEL_* turns them on (config/tracing.ts); components hold
 * `Tracing | undefined` and do nothing else when it is undefined. The SDK is
 * loaded only then (load.ts). Parents are passed explicitly on the
 * synchronous decision path; `within` sets the parent of the spans started
 * by the decision's I/O (a JWKS fetch, a store lookup), which runs only once
 * a NeedsIo is awaited.
 */
export interface Tracing {
  /**
   * The span of one decision: a child of the caller's `traceparent` only when
   * the peer is a trusted proxy, else a new root (a client must not choose
   * the trace id its requests are recorded under).
   */
  decision: (headers: IncomingHttpHeaders, trustedPeer: boolean, attributes: SpanAttributes) => TraceSpan
  /** Runs `fn` with `parent` as the parent of every span started in it and in what it awaits. */
  within: <T>(parent: TraceSpan, fn: () => T) => T
  /** A span under the parent `within` set, or a new root outside one (a background JWKS refresh, a route's revocation). */
  child: (name: string, attributes: SpanAttributes, client?: boolean) => TraceSpan
  /** A span under an explicit parent. */
  childOf: (parent: TraceSpan, name: string, attributes: SpanAttributes, client?: boolean) => TraceSpan
  /** Writes `span`'s traceparent (and tracestate) into headers sent on its behalf, replacing any there. */
  inject: (span: TraceSpan, headers: OutgoingHttpHeaders) => void
  /** Exports what is queued, within a bounded wait; an unreachable collector never holds the shutdown longer. */
  shutdown: () => Promise<void>
}
