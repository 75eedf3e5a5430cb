import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { configProblems } from '../helpers/config.js'
import { SECRET } from '../helpers/tokens.js'

const BASE = { JWT_SECRET: SECRET }
const ON = { ...BASE, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }

t.test('traces are off unless an OTLP endpoint or OTEL_TRACES_EXPORTER=otlp says where to send them', async (t) => {
  t.equal(loadConfig(BASE).tracing, null, 'nothing set: off (the SDK alone would export to localhost)')
  t.equal(loadConfig({ ...BASE, OTEL_SERVICE_NAME: 'edge' }).tracing, null, 'a service name alone turns nothing on')
  t.not(loadConfig(ON).tracing, null)
  t.not(loadConfig({ ...BASE, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://collector/v1/traces' }).tracing, null)
  t.not(loadConfig({ ...BASE, OTEL_TRACES_EXPORTER: 'otlp' }).tracing, null, 'otlp to the default endpoint, asked for')
  t.equal(loadConfig({ ...ON, OTEL_SDK_DISABLED: 'true' }).tracing, null)
  t.equal(loadConfig({ ...ON, OTEL_SDK_DISABLED: 'True' }).tracing, null, 'case-insensitive, as the specification says')
  t.equal(loadConfig({ ...ON, OTEL_TRACES_EXPORTER: 'none' }).tracing, null)
})

t.test('the sampler and the batch processor follow the specification\'s defaults', async (t) => {
  t.same(loadConfig(ON).tracing, {
    sampler: 'parentbased_always_on',
    ratio: 1,
    batch: { scheduledDelayMillis: 5000, maxQueueSize: 2048, maxExportBatchSize: 512, exportTimeoutMillis: 30_000 }
  })
  t.match(loadConfig({ ...ON, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.01' }).tracing, { sampler: 'parentbased_traceidratio', ratio: 0.01 })
})

t.test('a value tokengate cannot honour stops start-up naming the variable', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ OTEL_TRACES_SAMPLER: 'jaeger_remote' }, /^OTEL_TRACES_SAMPLER: "jaeger_remote" is not accepted; expected one of always_on, always_off, traceidratio/],
    [{ OTEL_TRACES_SAMPLER_ARG: '1.5' }, /^OTEL_TRACES_SAMPLER_ARG: "1.5" is not a share from 0 to 1/],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, /^OTEL_EXPORTER_OTLP_ENDPOINT: protocol collector: is not accepted; expected http: or https:/],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'not a url' }, /^OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: not a URL/],
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, /^OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" is not supported; tokengate exports traces as http\/protobuf$/],
    [{ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' }, /^OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http\/json" is not supported/],
    [{ OTEL_TRACES_EXPORTER: 'zipkin' }, /^OTEL_TRACES_EXPORTER: "zipkin" is not supported; expected otlp/],
    [{ OTEL_SDK_DISABLED: 'yes' }, /^OTEL_SDK_DISABLED: "yes" is not accepted; expected true or false$/],
    [{ OTEL_EXPORTER_OTLP_TIMEOUT: '10s' }, /^OTEL_EXPORTER_OTLP_TIMEOUT: "10s" is not an integer/],
    [{ OTEL_BSP_MAX_QUEUE_SIZE: '10', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '20' }, /^OTEL_BSP_MAX_EXPORT_BATCH_SIZE: 20 is more than OTEL_BSP_MAX_QUEUE_SIZE \(10\)$/]
  ]
  for (const [env, problem] of cases) t.match(configProblems({ ...ON, ...env }), [problem], JSON.stringify(env))
})

t.test('an endpoint URL is never echoed in a problem: it may carry credentials', async (t) => {
  const problems = configProblems({ ...BASE, OTEL_EXPORTER_OTLP_ENDPOINT: 'user:s3cret@collector' })
  t.equal(problems.length, 1)
  t.notOk(problems[0].includes('s3cret'))
})

t.test('with traces off the sampler and batch variables are not read: another process\'s OTEL_* does not stop tokengate', async (t) => {
  t.same(configProblems({ ...BASE, OTEL_TRACES_SAMPLER: 'jaeger_remote', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }), [])
})
