import { connect } from 'node:net'
import { Samples, round } from './stats.js'

const CRLF2 = Buffer.from('\r\n\r\n')
const CHUNKED_END = Buffer.from('\r\n0\r\n\r\n')
const DRAIN_MS = 2000

/**
 * One raw HTTP/1.1 request, built once: `GET path` with Host and, when given,
 * `Authorization: Bearer token`. The generator writes these bytes as they are.
 */
export function buildRequest ({ host, path, token = null, headers = {} }) {
  let text = `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n`
  for (const [name, value] of Object.entries(headers)) text += `${name}: ${value}\r\n`
  if (token !== null) text += `Authorization: Bearer ${token}\r\n`
  return Buffer.from(text + '\r\n', 'latin1')
}

/** Where a response that starts at `from` ends in `buf`, -1 if it is not complete yet; status alongside. */
function responseEnd (buf, from) {
  const head = buf.indexOf(CRLF2, from)
  if (head === -1) return { end: -1, status: 0 }
  const status = (buf[from + 9] - 48) * 100 + (buf[from + 10] - 48) * 10 + (buf[from + 11] - 48)
  const headers = buf.latin1Slice(from, head).toLowerCase()
  const at = headers.indexOf('\ncontent-length:')
  if (at !== -1) {
    const eol = headers.indexOf('\r', at + 16)
    const length = Number.parseInt(headers.slice(at + 16, eol === -1 ? undefined : eol).trim(), 10)
    const end = head + 4 + length
    return { end: end <= buf.length ? end : -1, status }
  }
  if (headers.includes('\ntransfer-encoding: chunked')) {
    // Bench bodies are small: the terminating chunk is enough to find the end.
    const last = buf.indexOf(CHUNKED_END, head)
    return { end: last === -1 ? -1 : last + CHUNKED_END.length, status }
  }
  return { end: head + 4, status }
}

/**
 * The bench's load generator: `connections` keep-alive sockets, one request in
 * flight on each (no pipelining), every request a pre-built Buffer, so that the
 * generator does no signing, no header building and no serialising while it
 * measures. `requests` is one Buffer (repeated) or an array (each sent once;
 * the run ends early when it is used up). With `rate`, requests are paced to
 * that many a second over all connections (evenly spaced per connection).
 *
 * Latency: from the write to the last byte of the answer (sub-millisecond).
 * `measureAround` runs before the first request and after the last answer (or
 * the drain timeout): the server CPU is read there, so that everything it did
 * for the counted requests is inside the window.
 */
export async function generate ({ port, host = '127.0.0.1', requests, connections, durationS, rate = null, measureAround = null }) {
  const many = Array.isArray(requests)
  const samples = new Samples()
  const state = { next: 0, ok: 0, other: 0, errors: 0, exhausted: false, inFlight: 0, stopping: false }
  const sockets = await Promise.all(Array.from({ length: connections }, () => open(port, host)))
  const take = () => {
    if (!many) return requests
    if (state.next >= requests.length) { state.exhausted = true; return null }
    return requests[state.next++]
  }
  const before = measureAround === null ? null : await measureAround.before()
  const cpuBefore = process.cpuUsage()
  const started = performance.now()
  const deadline = started + durationS * 1000
  const interval = rate === null ? 0 : connections * 1000 / rate
  let lastAnswer = started
  let finish
  const finished = new Promise((resolve) => { finish = resolve })
  const settle = () => { if (state.inFlight === 0 && state.stopping) finish() }

  for (const [index, socket] of sockets.entries()) {
    const conn = { socket, sentAt: 0, pending: null, due: started + (interval * index) / connections, timer: null }
    const send = () => {
      conn.timer = null
      if (state.stopping) return settle()
      const now = performance.now()
      if (now >= deadline) { state.stopping = true; return settle() }
      if (interval > 0 && now < conn.due) {
        conn.timer = setTimeout(send, conn.due - now)
        return
      }
      const bytes = take()
      if (bytes === null) { state.stopping = true; return settle() }
      conn.due += interval
      conn.sentAt = now
      state.inFlight++
      socket.write(bytes)
    }
    socket.on('data', (chunk) => {
      let buf = conn.pending === null ? chunk : Buffer.concat([conn.pending, chunk])
      let from = 0
      while (from < buf.length) {
        const { end, status } = responseEnd(buf, from)
        if (end === -1) break
        const now = performance.now()
        lastAnswer = now
        if (status >= 200 && status < 300) {
          state.ok++
          samples.add(now - conn.sentAt)
        } else {
          state.other++
        }
        state.inFlight--
        from = end
        send()
      }
      buf = from === buf.length ? null : buf.subarray(from)
      conn.pending = buf === null ? null : Buffer.from(buf)
    })
    socket.on('close', () => {
      if (conn.timer !== null) clearTimeout(conn.timer)
      if (state.stopping && state.inFlight === 0) return
      state.errors++
      state.inFlight = Math.max(0, state.inFlight - 1)
      state.stopping = true
      settle()
    })
    send()
  }
  // A server that stops answering must not hang the bench.
  const timeout = setTimeout(finish, durationS * 1000 + DRAIN_MS)
  await finished
  clearTimeout(timeout)
  const seconds = (lastAnswer - started) / 1000
  const cpu = process.cpuUsage(cpuBefore)
  const after = measureAround === null ? null : await measureAround.after()
  for (const socket of sockets) socket.destroy()
  const [p50, p99, p999] = samples.percentiles([50, 99, 99.9])
  return {
    requests: state.ok,
    non2xx: state.other,
    errors: state.errors + state.inFlight,
    sent: many ? state.next : state.ok + state.other,
    seconds: round(seconds, 3),
    rps: seconds > 0 ? round(state.ok / seconds, 0) : 0,
    p50: round(p50, 3),
    p99: round(p99, 3),
    p999: round(p999, 3),
    poolExhausted: state.exhausted,
    generatorCpuS: (cpu.user + cpu.system) / 1e6,
    before,
    after
  }
}

async function open (port, host) {
  return await new Promise((resolve, reject) => {
    const socket = connect({ port, host, noDelay: true })
    socket.once('connect', () => { socket.off('error', reject); socket.on('error', () => {}); resolve(socket) })
    socket.once('error', reject)
  })
}
