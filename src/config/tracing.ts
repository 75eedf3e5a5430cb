import { SAMPLERS, type TracingOptions } from '../tracing/tracing.js'
import type { EnvReader } from './env-reader.js'

const EXPORTERS = ['otlp', 'none']
// The exporter tokengate ships: OTLP over HTTP with protobuf bodies (the OTLP default).
const PROTOCOL = 'http/protobuf'

/**
 * OTEL_*: traces are on only when an OTLP endpoint or OTEL_TRACES_EXPORTER=otlp
 * is set, and OTEL_SDK_DISABLED is not true (the SDK's own default would
 * export to localhost). The SDK reads its exporter's and resource's variables
 * itself; they are checked here so that a bad one stops start-up by name.
 */
export function readTracing (r: EnvReader): TracingOptions | null {
  // The specification's booleans are case-insensitive.
  const disabledValue = r.raw('OTEL_SDK_DISABLED')?.toLowerCase()
  if (disabledValue !== undefined && disabledValue !== 'true' && disabledValue !== 'false') r.fail('OTEL_SDK_DISABLED', `"${disabledValue}" is not accepted; expected true or false`)
  const disabled = disabledValue === 'true'
  const exporters = r.list('OTEL_TRACES_EXPORTER').map((name) => name.toLowerCase())
  for (const name of exporters) {
    if (!EXPORTERS.includes(name)) r.fail('OTEL_TRACES_EXPORTER', `"${name}" is not supported; expected otlp (OTLP over HTTP/protobuf) or none`)
  }
  const endpoint = r.url('OTEL_EXPORTER_OTLP_ENDPOINT', ['http:', 'https:'])
  const tracesEndpoint = r.url('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', ['http:', 'https:'])
  const on = !disabled && !exporters.includes('none') && (exporters.includes('otlp') || endpoint !== null || tracesEndpoint !== null)
  if (!on) return null
  for (const name of ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const protocol = r.raw(name)
    if (protocol !== undefined && protocol !== PROTOCOL) r.fail(name, `"${protocol}" is not supported; tokengate exports traces as ${PROTOCOL}`)
  }
  r.optionalInt('OTEL_EXPORTER_OTLP_TIMEOUT', { min: 1, max: 600_000 })
  r.optionalInt('OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', { min: 1, max: 600_000 })
  const sampler = r.oneOf('OTEL_TRACES_SAMPLER', SAMPLERS, 'parentbased_always_on')
  const maxQueueSize = r.int('OTEL_BSP_MAX_QUEUE_SIZE', 2048, { min: 1, max: 1_000_000 })
  const maxExportBatchSize = r.int('OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 512, { min: 1, max: 1_000_000 })
  if (maxExportBatchSize > maxQueueSize) r.fail('OTEL_BSP_MAX_EXPORT_BATCH_SIZE', `${maxExportBatchSize} is more than OTEL_BSP_MAX_QUEUE_SIZE (${maxQueueSize})`)
  return {
    sampler,
    // The specification's default for the ratio samplers; ignored by the others.
    ratio: r.fraction('OTEL_TRACES_SAMPLER_ARG', 1),
    batch: {
      scheduledDelayMillis: r.int('OTEL_BSP_SCHEDULE_DELAY', 5000, { min: 1, max: 600_000 }),
      maxQueueSize,
      maxExportBatchSize,
      exportTimeoutMillis: r.int('OTEL_BSP_EXPORT_TIMEOUT', 30_000, { min: 1, max: 600_000 })
    }
  }
}
