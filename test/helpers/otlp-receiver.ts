import { createServer, type IncomingMessage } from 'node:http'
import { resolve } from 'node:path'
import protobuf from 'protobufjs'

// The OTLP definitions as the OpenTelemetry project publishes them (open-telemetry/opentelemetry-proto
// at ac2c4b5, 2026-08-18, Apache-2.0, copied unchanged into otlp-proto/: the trace service and what it
// imports): what the exporter sends is decoded by protobufjs, never hand-parsed.
const PROTO_ROOT = resolve(import.meta.dirname, 'otlp-proto')
const root = new protobuf.Root()
root.resolvePath = (_origin, target) => resolve(PROTO_ROOT, target)
root.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto', { keepCase: false })
const ExportRequest = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest')
const ExportResponse = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse')

export type AttributeValue = string | number | boolean | null

/** One span as received, ids in hex as traceparent writes them. */
export interface ReceivedSpan {
  readonly name: string
  readonly traceId: string
  readonly spanId: string
  /** '' for a root span. */
  readonly parentSpanId: string
  /** OTLP Span.SpanKind: 1 internal, 2 server, 3 client. */
  readonly kind: number
  readonly attributes: Readonly<Record<string, AttributeValue>>
  /** OTLP Status.StatusCode: 0 unset, 1 ok, 2 error. */
  readonly status: number
  readonly resource: Readonly<Record<string, AttributeValue>>
}

export interface OtlpReceiver {
  /** http://127.0.0.1:port, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string
  readonly spans: ReceivedSpan[]
  /** Content types and paths of every export request. */
  readonly requests: Array<{ readonly path: string, readonly contentType: string }>
  close: () => Promise<void>
}

interface AnyValue { stringValue?: string, boolValue?: boolean, intValue?: number | string, doubleValue?: number }
interface KeyValue { key: string, value?: AnyValue }

function valueOf (value: AnyValue | undefined): AttributeValue {
  if (value === undefined) return null
  if (value.stringValue !== undefined) return value.stringValue
  if (value.boolValue !== undefined) return value.boolValue
  if (value.intValue !== undefined) return Number(value.intValue)
  if (value.doubleValue !== undefined) return value.doubleValue
  return null
}

function attributesOf (list: KeyValue[] | undefined): Record<string, AttributeValue> {
  return Object.fromEntries((list ?? []).map(({ key, value }) => [key, valueOf(value)]))
}

const hex = (bytes: Uint8Array | undefined): string => bytes === undefined ? '' : Buffer.from(bytes).toString('hex')

interface Decoded {
  resourceSpans?: Array<{
    resource?: { attributes?: KeyValue[] }
    scopeSpans?: Array<{ spans?: Array<{ name: string, traceId: Uint8Array, spanId: Uint8Array, parentSpanId?: Uint8Array, kind?: number, attributes?: KeyValue[], status?: { code?: number } }> }>
  }>
}

async function body (req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** A real OTLP/HTTP endpoint on a free loopback port: decodes each ExportTraceServiceRequest (OTLP 1.x, protobuf). */
export async function startOtlpReceiver (t: { teardown: (fn: () => unknown) => void }): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = []
  const requests: Array<{ path: string, contentType: string }> = []
  const server = createServer((req, res) => {
    body(req).then((bytes) => {
      requests.push({ path: req.url ?? '', contentType: req.headers['content-type'] ?? '' })
      const decoded = ExportRequest.toObject(ExportRequest.decode(bytes), { longs: Number, defaults: false }) as Decoded
      for (const resourceSpans of decoded.resourceSpans ?? []) {
        const resource = attributesOf(resourceSpans.resource?.attributes)
        for (const scope of resourceSpans.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            spans.push({
              name: span.name,
              traceId: hex(span.traceId),
              spanId: hex(span.spanId),
              parentSpanId: hex(span.parentSpanId),
              kind: span.kind ?? 0,
              attributes: attributesOf(span.attributes),
              status: span.status?.code ?? 0,
              resource
            })
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(ExportResponse.encode(ExportResponse.create({})).finish())
    }).catch(() => { res.writeHead(400).end() })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const close = async (): Promise<void> => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
  t.teardown(close)
  return { url: `http://127.0.0.1:${port}`, spans, requests, close }
}

/**
 * The OTEL_* variables of `env` also in process.env for the test's duration: config/ decides
 * from the environment it is given, the SDK's exporter and resource read process.env (in
 * `tokengate serve` they are one and the same).
 */
export function withOtelEnv (t: { teardown: (fn: () => unknown) => void }, env: Record<string, string>): Record<string, string> {
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('OTEL_')) continue
    const before = process.env[name]
    process.env[name] = value
    t.teardown(() => { if (before === undefined) delete process.env[name]; else process.env[name] = before })
  }
  return env
}

/** The environment of a gateway that exports to `receiver` every 20 ms. */
export function tracingEnv (t: { teardown: (fn: () => unknown) => void }, receiver: OtlpReceiver, extra: Record<string, string> = {}): Record<string, string> {
  return withOtelEnv(t, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '20', ...extra })
}
