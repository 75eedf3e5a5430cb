import fc from 'fast-check'
import t from 'tap'
import { ROOT_CONTEXT, SamplingDecision, SpanKind } from '@opentelemetry/api'
import { PooledIdGenerator, TraceIdRatioSampler } from '../../src/tracing/ids.js'

const sampled = (ratio: number, traceId: string): boolean =>
  new TraceIdRatioSampler(ratio).shouldSample(ROOT_CONTEXT, traceId, 'tokengate.decision', SpanKind.SERVER).decision === SamplingDecision.RECORD_AND_SAMPLED

t.test('ids are W3C Trace Context ids: lowercase hex of the right length, never all zero, never repeated', async (t) => {
  const ids = new PooledIdGenerator()
  const traces = Array.from({ length: 5000 }, () => ids.generateTraceId())
  const spans = Array.from({ length: 5000 }, () => ids.generateSpanId())
  t.ok(traces.every((id) => /^[0-9a-f]{32}$/.test(id) && !/^0+$/.test(id)))
  t.ok(spans.every((id) => /^[0-9a-f]{16}$/.test(id) && !/^0+$/.test(id)))
  t.equal(new Set(traces).size, traces.length)
  t.equal(new Set(spans).size, spans.length)
})

t.test('the ratio sampler keeps about its share of random trace ids', async (t) => {
  const ids = new PooledIdGenerator()
  const traces = Array.from({ length: 40_000 }, () => ids.generateTraceId())
  for (const ratio of [0.01, 0.25, 0.5]) {
    const share = traces.filter((id) => sampled(ratio, id)).length / traces.length
    t.ok(Math.abs(share - ratio) < Math.max(0.005, ratio * 0.1), `ratio ${ratio}: ${share}`)
  }
  t.ok(traces.every((id) => sampled(1, id)), 'ratio 1: every trace')
  t.notOk(traces.some((id) => sampled(0, id)), 'ratio 0: none')
})

t.test('consistent: a trace sampled at one ratio is sampled at every higher one (so tiers keep whole traces)', async (t) => {
  fc.assert(fc.property(
    fc.stringMatching(/^[0-9a-f]{32}$/), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }),
    (traceId, a, b) => {
      const [low, high] = a <= b ? [a, b] : [b, a]
      return !sampled(low, traceId) || sampled(high, traceId)
    }))
  t.pass()
})
