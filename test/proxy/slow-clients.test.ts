import t from 'tap'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { sign } from '../helpers/tokens.js'
import { inTime, waitFor } from '../helpers/until.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { slowClient, type RawResponse } from '../helpers/raw-http.js'

// Issue 11 item 6: one slow client cannot stall the proxy for everyone.

function head (method: string, target: string, token: string, framing: string): string {
  return `${method} ${target} HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer ${token}\r\n${framing}\r\n`
}

const SMALL = 'Content-Length: 1000\r\n'
const LARGE = `Content-Length: ${10 << 20}\r\n`
const CHUNKED = 'Transfer-Encoding: chunked\r\n'

/** Records when each upstream request arrives and whether its body ended; /hang never answers. */
function recordingUpstream (upstream: Upstream): Array<{ url: string, at: number, ended: boolean, closed: boolean }> {
  const arrivals: Array<{ url: string, at: number, ended: boolean, closed: boolean }> = []
  upstream.handle((req, res) => {
    const arrival = { url: req.url ?? '', at: Date.now(), ended: false, closed: false }
    arrivals.push(arrival)
    let bytes = 0
    req.on('data', (d: Buffer) => { bytes += d.length })
    req.on('close', () => { arrival.closed = true })
    req.on('end', () => {
      arrival.ended = true
      if (req.url !== '/hang') res.end(JSON.stringify({ url: req.url, bodyBytes: bytes, headers: req.headers }))
    })
  })
  return arrivals
}

/** Requests whose head the gateway has read: a client is in, whatever its body does. */
function requestsSeen (gw: Gateway): { count: number } {
  const seen = { count: 0 }
  gw.app.server.on('request', () => { seen.count++ })
  return seen
}

t.test('issue 11 item 6: with 130 clients trickling bodies, an innocent request is answered within UPSTREAM_TIMEOUT_MS + 1 s', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url, UPSTREAM_TIMEOUT_MS: '1000' })
  const token = sign()
  const heads = requestsSeen(gw)
  // One byte every 500 ms (never silent for CLIENT_BODY_TIMEOUT_MS), small, large and chunked bodies; each stops by itself after 10 s.
  const framings = [SMALL, LARGE, CHUNKED]
  for (let i = 0; i < 130; i++) {
    const framing = framings[i % 3]
    const first = framing === CHUNKED ? '400\r\n{' : '{'
    slowClient(t, gw.url, head('POST', '/upload', token, framing) + first, { chunk: ' ', everyMs: 500, maxChunks: 20 })
  }
  await waitFor(() => heads.count === 130, 'the 130 slow clients to be reading their bodies in the gateway', 5000, 10)
  const started = Date.now()
  const [get, post] = await inTime(Promise.all([
    call(`${gw.url}/innocent`, { token }),
    call(`${gw.url}/innocent`, { token, method: 'POST', json: { a: 1 } })
  ]), 2000, 'the innocent requests')
  t.equal(get.status, 200)
  t.equal(post.status, 200)
  t.equal(post.body.bodyBytes, 7)
  t.ok(Date.now() - started < 2000, `answered after ${Date.now() - started} ms`)
  t.equal(upstream.seen.filter((r) => r.url === '/upload').length, 0, 'no trickled body reached the upstream')
})

t.test('a request queued behind uploads that hold every connection gets 504 at UPSTREAM_TIMEOUT_MS', async (t) => {
  const upstream = await startUpstream(t)
  const arrivals = recordingUpstream(upstream)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url, UPSTREAM_TIMEOUT_MS: '800', UPSTREAM_CONNECTIONS: '1' })
  const token = sign()
  // Past the 64 KiB buffer, the upload streams: it holds the only connection while it trickles on.
  slowClient(t, gw.url, head('PUT', '/hang', token, LARGE) + 'x'.repeat(100 << 10), { chunk: 'x', everyMs: 200, maxChunks: 40 })
  await waitFor(() => arrivals.length === 1, 'the upload to reach the upstream', 3000, 20)
  const started = Date.now()
  const res = await inTime(call(`${gw.url}/innocent`, { token }), 3000, 'the queued request')
  t.equal(res.status, 504)
  t.equal(res.body.error, 'gateway_timeout')
  t.ok(Date.now() - started < 1800, `answered after ${Date.now() - started} ms`)
  t.equal(arrivals.length, 1, 'the queued request never reached the upstream')
})

t.test('with every connection busy and UPSTREAM_MAX_PENDING requests waiting, the next request gets 503 at once', async (t) => {
  const upstream = await startUpstream(t)
  const arrivals = recordingUpstream(upstream)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url, UPSTREAM_TIMEOUT_MS: '2000', UPSTREAM_CONNECTIONS: '2', UPSTREAM_MAX_PENDING: '1' })
  const token = sign()
  const heads = requestsSeen(gw)
  const held = Array.from({ length: 3 }, async () => await call(`${gw.url}/hang`, { token }))
  await waitFor(() => arrivals.length === 2, 'two requests to hold both connections', 3000, 20)
  // The third is queued as soon as it is decided, without I/O: it was, once its head was read.
  await waitFor(() => heads.count === 3, 'the third request to be queued', 3000, 5)
  const started = Date.now()
  const res = await call(`${gw.url}/other`, { token })
  const elapsed = Date.now() - started
  t.equal(res.status, 503)
  t.same(res.body, { error: 'temporarily_unavailable', error_description: 'The upstream service is busy; retry shortly' })
  t.equal(res.headers.get('retry-after'), '1')
  t.ok(elapsed < 300, `answered after ${elapsed} ms`)
  t.same((await Promise.all(held)).map((r) => r.status), [504, 504, 504], 'the held and the queued one time out')
  t.equal((await call(`${gw.url}/after`, { token })).status, 200, 'the queue frees again')
})

t.test('slow streamed uploads hold at most UPSTREAM_UPLOAD_CONNECTIONS; every other request keeps the rest of the pool', async (t) => {
  const upstream = await startUpstream(t)
  const arrivals = recordingUpstream(upstream)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url, UPSTREAM_CONNECTIONS: '4', UPSTREAM_UPLOAD_CONNECTIONS: '2' })
  const token = sign()
  const upload = head('PUT', '/hang', token, LARGE) + 'x'.repeat(100 << 10)
  for (let i = 0; i < 2; i++) slowClient(t, gw.url, upload, { chunk: 'x', everyMs: 200, maxChunks: 40 })
  await waitFor(() => arrivals.length === 2, 'two uploads to reach the upstream', 3000, 20)
  const started = Date.now()
  // One byte past the buffer, then nothing: every byte sent was read, so the close cannot reach it as a reset.
  const third = await inTime(slowClient(t, gw.url, head('PUT', '/hang', token, LARGE) + 'x'.repeat((64 << 10) + 1), { chunk: '', everyMs: 200, maxChunks: 0 }).answer, 2000, 'the third upload')
  t.equal(third.status, 503, 'a third streamed upload is refused')
  t.match(third.head, /\r\nretry-after: 1/i)
  t.match(third.head, /\r\nconnection: close/i, 'its body is not read')
  const others = await inTime(Promise.all(Array.from({ length: 6 }, async () => await call(`${gw.url}/innocent`, { token, method: 'POST', json: { small: true } }))), 2000, 'the other requests')
  t.same(others.map((r) => r.status), Array(6).fill(200))
  t.ok(Date.now() - started < 1500, `answered after ${Date.now() - started} ms`)
})

t.test('a client silent for CLIENT_BODY_TIMEOUT_MS in the middle of its body is cut with 408', async (t) => {
  const upstream = await startUpstream(t)
  const arrivals = recordingUpstream(upstream)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url, CLIENT_BODY_TIMEOUT_MS: '300' })
  const token = sign()
  const cases: Array<[string, string, { chunk: string, everyMs: number, maxChunks: number }]> = [
    ['a small body that stops', head('POST', '/small', token, SMALL) + 'x'.repeat(10), { chunk: '', everyMs: 1000, maxChunks: 0 }],
    ['a chunked body that stops', head('POST', '/chunked', token, CHUNKED) + '5\r\nhello\r\n', { chunk: '', everyMs: 1000, maxChunks: 0 }],
    ['a small body trickled slower than the timeout', head('POST', '/trickled', token, SMALL), { chunk: 'x', everyMs: 600, maxChunks: 10 }],
    ['a streamed upload that stops', head('PUT', '/streamed', token, LARGE) + 'x'.repeat(100 << 10), { chunk: '', everyMs: 1000, maxChunks: 0 }]
  ]
  const answers = await inTime(Promise.all(cases.map(async ([, bytes, trickle]) => await slowClient(t, gw.url, bytes, trickle).answer)), 5000, 'the slow clients to be cut')
  answers.forEach((res: RawResponse, i) => {
    const name = cases[i][0]
    t.equal(res.status, 408, name)
    t.same(JSON.parse(res.body), { error: 'invalid_request', error_description: 'The request body was not received in time' }, name)
    t.match(res.head, /\r\nconnection: close/i, name)
    t.ok(res.closedAfterMs < 1800, `${name}: closed after ${res.closedAfterMs} ms`)
  })
  t.same(arrivals.map((a) => a.url), ['/streamed'], 'only the streamed upload had reached the upstream')
  await waitFor(() => arrivals[0].closed, 'the upstream request to be aborted', 2000, 20)
  t.equal(arrivals[0].ended, false, 'the upstream never saw a complete body')
})

t.test('a body trickled faster than CLIENT_BODY_TIMEOUT_MS reaches the upstream whole', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url, CLIENT_BODY_TIMEOUT_MS: '400' })
  const bytes = `POST /steady HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\nAuthorization: Bearer ${sign()}\r\nContent-Length: 12\r\n\r\n`
  const res = await inTime(slowClient(t, gw.url, bytes, { chunk: 'x', everyMs: 100, maxChunks: 12 }).answer, 5000, 'the answer')
  t.equal(res.status, 200)
  t.equal(JSON.parse(res.body).bodyBytes, 12)
})

t.test('a body up to PROXY_REQUEST_BUFFER_BYTES is read whole before the upstream is contacted', async (t) => {
  const upstream = await startUpstream(t)
  const arrivals = recordingUpstream(upstream)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url })
  const bytes = `POST /buffered HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\nAuthorization: Bearer ${sign()}\r\n${CHUNKED}\r\n5\r\nhello\r\n`
  const started = Date.now()
  const res = await inTime(slowClient(t, gw.url, bytes, { chunk: '6\r\n world\r\n0\r\n\r\n', everyMs: 500, maxChunks: 1 }).answer, 5000, 'the answer')
  t.equal(res.status, 200)
  const seen = JSON.parse(res.body)
  t.equal(seen.bodyBytes, 11)
  t.ok(arrivals[0].at - started >= 450, `the upstream was contacted ${arrivals[0].at - started} ms in, after the last chunk`)
  t.equal(seen.headers['content-length'], '11', 'sent with its length')
  t.equal(seen.headers['transfer-encoding'], undefined)
})

t.test('PROXY_REQUEST_BUFFER_BYTES=0 streams every body as it arrives', async (t) => {
  const upstream = await startUpstream(t)
  const arrivals = recordingUpstream(upstream)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url, PROXY_REQUEST_BUFFER_BYTES: '0' })
  const bytes = `POST /streamed HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\nAuthorization: Bearer ${sign()}\r\nContent-Length: 11\r\n\r\nhello`
  const started = Date.now()
  const res = await inTime(slowClient(t, gw.url, bytes, { chunk: ' world', everyMs: 500, maxChunks: 1 }).answer, 5000, 'the answer')
  t.equal(res.status, 200)
  t.equal(JSON.parse(res.body).bodyBytes, 11)
  t.ok(arrivals[0].at - started < 400, `the upstream was contacted ${arrivals[0].at - started} ms in, before the body ended`)
})
