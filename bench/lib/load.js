import autocannon from 'autocannon'
import { Samples, round } from './stats.js'

/**
 * One autocannon run from this process. Latencies are taken from autocannon's
 * 'response' events (hrtime, sub-millisecond) rather than its histogram, which
 * rounds to whole milliseconds. With a `pool`, every request carries the next
 * distinct token and the run ends early once the pool is empty. With a `rate`,
 * autocannon paces requests to that many per second over all connections (an
 * unsaturated server: latency without queueing).
 */
export async function load ({ url, path = '/', headers = {}, token = null, pool = null, connections, durationS, rate = null }) {
  const samples = new Samples()
  let ok = 0
  let other = 0
  const base = token === null ? headers : { ...headers, authorization: `Bearer ${token}` }
  let instance = null
  let exhausted = false
  const request = { method: 'GET', path, headers: base }
  if (pool !== null) {
    request.setupRequest = (req) => {
      const next = pool.take()
      if (next === null && !exhausted) {
        exhausted = true
        setImmediate(() => instance.stop())
      }
      req.headers = { ...base, authorization: `Bearer ${next ?? pool.last}` }
      return req
    }
  }
  const started = performance.now()
  const result = await new Promise((resolve, reject) => {
    const pace = rate === null ? {} : { overallRate: rate }
    instance = autocannon({ url, connections, duration: durationS, requests: [request], pipelining: 1, ...pace }, (err, res) => err ? reject(err) : resolve(res))
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) {
        ok++
        samples.add(ms)
      } else {
        other++
      }
    })
  })
  const seconds = (performance.now() - started) / 1000
  const [p50, p99, p999] = samples.percentiles([50, 99, 99.9])
  return {
    requests: ok,
    non2xx: other,
    errors: result.errors + result.timeouts,
    seconds: round(seconds, 3),
    rps: round(ok / seconds, 0),
    p50: round(p50, 3),
    p99: round(p99, 3),
    p999: round(p999, 3),
    poolExhausted: exhausted,
    tokensSent: pool === null ? null : pool.taken
  }
}
