import { AggregatorRegistry, Histogram, Registry } from 'prom-client'
import t from 'tap'
import { BufferedHistogram } from '../../src/metrics/buffered-histogram.js'

const BUCKETS = [0.001, 0.01, 0.1, 1]
const OBSERVED: Array<[string, number]> = [['a', 0.0005], ['a', 0.001], ['a', 0.05], ['b', 0.2], ['b', 7], ['a', 1], ['b', 0.01]]

t.test('scrapes to exactly what prom-client\'s own histogram prints for the same observations', async (t) => {
  const ours = new Registry()
  const theirs = new Registry()
  const buffered = new BufferedHistogram<'kind'>({ name: 'h_seconds', help: 'a histogram', labelNames: ['kind'], buckets: BUCKETS, registers: [ours] })
  const reference = new Histogram({ name: 'h_seconds', help: 'a histogram', labelNames: ['kind'], buckets: BUCKETS, registers: [theirs] })
  for (const [kind, value] of OBSERVED) {
    buffered.cell({ kind }).observe(value)
    reference.observe({ kind }, value)
  }
  t.equal(await ours.metrics(), await theirs.metrics())
})

t.test('cluster workers\' histograms sum like prom-client\'s', async (t) => {
  const workers = [new Registry(), new Registry()]
  const references = [new Registry(), new Registry()]
  workers.forEach((registry, i) => {
    const buffered = new BufferedHistogram<'kind'>({ name: 'h_seconds', help: 'h', labelNames: ['kind'], buckets: BUCKETS, registers: [registry] })
    const reference = new Histogram({ name: 'h_seconds', help: 'h', labelNames: ['kind'], buckets: BUCKETS, registers: [references[i]] })
    for (const [kind, value] of OBSERVED.slice(i * 3)) {
      buffered.cell({ kind }).observe(value)
      reference.observe({ kind }, value)
    }
  })
  const summed = AggregatorRegistry.aggregate(await Promise.all(workers.map(async (r) => await r.getMetricsAsJSON())))
  const expected = AggregatorRegistry.aggregate(await Promise.all(references.map(async (r) => await r.getMetricsAsJSON())))
  t.equal(await summed.metrics(), await expected.metrics())
  t.match(await summed.metrics(), /h_seconds_count\{kind="a"\} 5/)
})
