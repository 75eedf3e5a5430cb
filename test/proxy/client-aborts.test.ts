import { request as httpRequest, type ClientRequest } from 'node:http'
import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { sign } from '../helpers/tokens.js'
import { inTime } from '../helpers/until.js'
import { startUpstream } from '../helpers/upstream.js'

/** Starts a download and destroys the client connection once the first bytes arrived. */
async function abandonDownload (url: string, token: string): Promise<void> {
  await new Promise<void>((resolve) => {
    const req: ClientRequest = httpRequest(url, { agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.once('data', () => { req.destroy(); resolve() })
    })
    req.on('error', () => resolve())
    req.end()
  })
}

t.test('a client aborting mid-upload aborts the upstream request', async (t) => {
  const upstream = await startUpstream(t)
  let upstreamOutcome: Promise<string> = new Promise(() => {})
  let reached: () => void = () => {}
  const started = new Promise<void>((resolve) => { reached = resolve })
  upstream.handle((req, res) => {
    upstreamOutcome = new Promise((resolve) => {
      req.on('end', () => { resolve('complete'); res.end() })
      req.on('close', () => resolve('aborted'))
    })
    req.once('data', () => reached())
  })
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url })
  const client = httpRequest(`${gw.url}/upload`, { method: 'PUT', headers: { authorization: `Bearer ${sign()}`, 'content-length': String(10 << 20) } })
  client.on('error', () => {})
  // More than PROXY_REQUEST_BUFFER_BYTES (64 KiB): the upload streams while the client sends it.
  client.write(Buffer.alloc(256 << 10, 97))
  await inTime(started, 5000, 'the first bytes to reach the upstream')
  client.destroy()
  t.equal(await inTime(upstreamOutcome, 5000, 'the upstream request to end'), 'aborted')
})

t.test('a client closing mid-download aborts the upstream response', async (t) => {
  const upstream = await startUpstream(t)
  let upstreamClosed: Promise<boolean> = new Promise(() => {})
  upstream.handle((_req, res) => {
    upstreamClosed = new Promise((resolve) => res.on('close', () => resolve(res.writableFinished)))
    res.setHeader('content-length', String(100 << 20))
    res.write(Buffer.alloc(64 << 10, 98))
    // Then nothing: the download would hang for UPSTREAM_TIMEOUT_MS if the gateway kept it.
  })
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url })
  await abandonDownload(`${gw.url}/download`, sign())
  t.equal(await inTime(upstreamClosed, 5000, 'the upstream response to close'), false, 'closed before it finished')
})

t.test('clients leaving mid-download do not leak pooled upstream connections', async (t) => {
  const upstream = await startUpstream(t)
  upstream.handle((req, res) => {
    if (req.url !== '/endless') { res.end('{"ok":true}'); return }
    res.setHeader('content-length', String(100 << 20))
    res.write(Buffer.alloc(1024, 99))
  })
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url })
  const token = sign()
  // More abandoned downloads than the pool has connections (128), then one more request: all well within UPSTREAM_TIMEOUT_MS.
  const res = await inTime((async () => {
    for (let batch = 0; batch < 5; batch++) {
      await Promise.all(Array.from({ length: 30 }, async () => await abandonDownload(`${gw.url}/endless`, token)))
    }
    return await call(`${gw.url}/after`, { token })
  })(), 8000, '150 abandoned downloads and one more request')
  t.equal(res.status, 200)
})
