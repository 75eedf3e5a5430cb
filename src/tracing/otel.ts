import { AsyncLocalStorage } from 'node:async_hooks'
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'
import { defaultTextMapGetter, defaultTextMapSetter, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type Tracer } from '@opentelemetry/api'
import { ExportResultCode, W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources'
import {
  AlwaysOffSampler, AlwaysOnSampler, BatchSpanProcessor, ParentBasedSampler, TracerProvider,
  type ReadableSpan, type Sampler, type SpanExporter
} from '@opentelemetry/sdk-trace'
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions'
import { PooledIdGenerator, TraceIdRatioSampler } from './ids.js'
import type { SpanAttributes, SpanValue, TraceSpan, Tracing, TracingOptions } from './tracing.js'

/** How long a shutdown waits for the last export (the rest of SHUTDOWN_GRACE_MS is the requests'). */
export const SHUTDOWN_FLUSH_MS = 2000

interface Logger { warn: (obj: object, msg: string) => void, info: (obj: object, msg: string) => void }

function samplerOf ({ sampler, ratio }: TracingOptions): Sampler {
  switch (sampler) {
    case 'always_on': return new AlwaysOnSampler()
    case 'always_off': return new AlwaysOffSampler()
    case 'traceidratio': return new TraceIdRatioSampler(ratio)
    case 'parentbased_always_on': return new ParentBasedSampler({ root: new AlwaysOnSampler() })
    case 'parentbased_always_off': return new ParentBasedSampler({ root: new AlwaysOffSampler() })
    case 'parentbased_traceidratio': return new ParentBasedSampler({ root: new TraceIdRatioSampler(ratio) })
  }
}

/**
 * The exporter, saying when exports start failing and when they work again:
 * one line per change, never one per batch (an unreachable collector would
 * otherwise write a warning every few seconds per worker).
 */
class ReportingExporter implements SpanExporter {
  readonly #inner: SpanExporter
  readonly #log: Logger
  #failing = false
  #failed = 0

  constructor (inner: SpanExporter, log: Logger) {
    this.#inner = inner
    this.#log = log
  }

  export (spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.#inner.export(spans, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) {
        this.#failed += spans.length
        if (!this.#failing) {
          this.#failing = true
          this.#log.warn({ err: result.error?.message }, 'OTLP trace export failed; spans are dropped until the collector answers')
        }
      } else if (this.#failing) {
        this.#failing = false
        this.#log.info({ droppedSpans: this.#failed }, 'OTLP trace export works again')
        this.#failed = 0
      }
      done(result)
    })
  }

  async shutdown (): Promise<void> {
    await this.#inner.shutdown()
  }

  async forceFlush (): Promise<void> {
    await this.#inner.forceFlush?.()
  }
}

class OtelSpan implements TraceSpan {
  readonly span: Span
  readonly #parent: Context
  #context: Context | undefined
  #ended = false

  constructor (span: Span, parent: Context) {
    this.span = span
    this.#parent = parent
  }

  /** The span's context, for its children and for traceparent: built only when one needs it. */
  get context (): Context {
    this.#context ??= trace.setSpan(this.#parent, this.span)
    return this.#context
  }

  get traceId (): string {
    return this.span.spanContext().traceId
  }

  set (name: string, value: SpanValue): void {
    this.span.setAttribute(name, value)
  }

  fail (message: string): void {
    this.span.setStatus({ code: SpanStatusCode.ERROR, message })
  }

  end (): void {
    if (this.#ended) return
    this.#ended = true
    this.span.end()
  }
}

/** The OpenTelemetry SDK behind Tracing: loaded only when tracing is on (load.ts). */
export class OtelTracing implements Tracing {
  readonly #provider: TracerProvider
  readonly #tracer: Tracer
  readonly #propagator = new W3CTraceContextPropagator()
  readonly #parent = new AsyncLocalStorage<OtelSpan>()

  constructor (options: TracingOptions, log: Logger) {
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (read by the SDK's detector) override these.
    const resource = resourceFromAttributes({
      [ATTR_SERVICE_NAME]: 'tokengate',
      ...(options.version !== undefined && { [ATTR_SERVICE_VERSION]: options.version }),
      'process.pid': process.pid
    }).merge(detectResources({ detectors: [envDetector] }))
    // The exporter reads OTEL_EXPORTER_OTLP_* itself (endpoint, headers, timeout, certificates).
    const exporter = new ReportingExporter(new OTLPTraceExporter(), log)
    this.#provider = new TracerProvider({
      resource,
      sampler: samplerOf(options),
      idGenerator: new PooledIdGenerator(),
      spanProcessors: [new BatchSpanProcessor({ exporter, ...options.batch })]
    })
    this.#tracer = this.#provider.getTracer('tokengate', options.version)
  }

  decision (headers: IncomingHttpHeaders, trustedPeer: boolean, attributes: SpanAttributes): TraceSpan {
    // Only a trusted proxy's traceparent is continued: from anyone else the trace starts here.
    const parent = trustedPeer && headers.traceparent !== undefined
      ? this.#propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter)
      : ROOT_CONTEXT
    return this.#start('tokengate.decision', attributes, parent, SpanKind.SERVER)
  }

  within<T> (parent: TraceSpan, fn: () => T): T {
    return this.#parent.run(parent as OtelSpan, fn)
  }

  child (name: string, attributes: SpanAttributes, client = false): TraceSpan {
    return this.#start(name, attributes, this.#parent.getStore()?.context ?? ROOT_CONTEXT, client ? SpanKind.CLIENT : SpanKind.INTERNAL)
  }

  childOf (parent: TraceSpan, name: string, attributes: SpanAttributes, client = false): TraceSpan {
    return this.#start(name, attributes, (parent as OtelSpan).context, client ? SpanKind.CLIENT : SpanKind.INTERNAL)
  }

  inject (span: TraceSpan, headers: OutgoingHttpHeaders): void {
    delete headers.traceparent
    delete headers.tracestate
    this.#propagator.inject((span as OtelSpan).context, headers, defaultTextMapSetter)
  }

  async shutdown (): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<void>((resolve) => { timer = setTimeout(resolve, SHUTDOWN_FLUSH_MS) })
    try {
      await Promise.race([this.#provider.shutdown().catch(() => {}), late])
    } finally {
      clearTimeout(timer)
    }
  }

  // Attributes are set once the span is known to record: an unsampled span (most of them at a
  // ratio) costs no attribute validation.
  #start (name: string, attributes: SpanAttributes, parent: Context, kind: SpanKind): OtelSpan {
    const span = this.#tracer.startSpan(name, { kind }, parent)
    if (span.isRecording()) span.setAttributes(attributes)
    return new OtelSpan(span, parent)
  }
}
