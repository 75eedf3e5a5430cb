import type { Tracing, TracingOptions } from './tracing.js'

interface Logger { warn: (obj: object, msg: string) => void, info: (obj: object, msg: string) => void }

/**
 * The OpenTelemetry SDK, imported only here and only when tracing is on:
 * with tracing off no module of it is loaded, and every component holds
 * `undefined` (one check on the hot path).
 */
export async function startTracing (options: TracingOptions | null, log: Logger): Promise<Tracing | undefined> {
  if (options === null) return undefined
  const { OtelTracing } = await import('./otel.js')
  return new OtelTracing(options, log)
}
