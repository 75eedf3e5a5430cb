import { request as httpRequest } from 'node:http'
import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { sign } from '../helpers/tokens.js'
import { startUpstream } from '../helpers/upstream.js'

const TIMEOUT_MS = '300'

t.test('upstream refusing connections: 502 with a JSON body', async (t) => {
  const upstream = await startUpstream(t)
  await upstream.close()
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url })
  const res = await call(`${gw.url}/accounts`, { token: sign() })
  t.equal(res.status, 502)
  t.same(res.body, { error: 'bad_gateway', error_description: 'The upstream service could not be reached' })
  t.equal(res.headers.get('content-type'), 'application/json; charset=utf-8')
})

t.test('upstream hanging past UPSTREAM_TIMEOUT_MS: 504 with a JSON body', async (t) => {
  const upstream = await startUpstream(t)
  upstream.handle(() => { /* never answers */ })
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url, UPSTREAM_TIMEOUT_MS: TIMEOUT_MS })
  const started = Date.now()
  const res = await call(`${gw.url}/slow`, { token: sign() })
  t.equal(res.status, 504)
  t.same(res.body, { error: 'gateway_timeout', error_description: 'The upstream service did not answer in time' })
  t.ok(Date.now() - started < 3000, `answered after ${Date.now() - started} ms`)
})

t.test('upstream resetting the connection before answering: 502', async (t) => {
  const upstream = await startUpstream(t)
  upstream.handle((req) => { req.socket.destroy() })
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url })
  const res = await call(`${gw.url}/reset`, { token: sign() })
  t.equal(res.status, 502)
  t.equal(res.body.error, 'bad_gateway')
})

t.test('upstream resetting mid-body: the client sees a broken response, never a complete-looking one', async (t) => {
  const upstream = await startUpstream(t)
  upstream.handle((_req, res) => {
    res.setHeader('content-length', '100000')
    res.write(Buffer.alloc(10_000, 97), () => { setTimeout(() => res.socket?.destroy(), 20) })
  })
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url })
  const outcome = await new Promise<string>((resolve) => {
    const req = httpRequest(`${gw.url}/partial`, { headers: { authorization: `Bearer ${sign()}` } }, (res) => {
      let bytes = 0
      res.on('data', (d: Buffer) => { bytes += d.length })
      res.on('end', () => resolve(`ended cleanly after ${bytes} bytes`))
      res.on('error', () => resolve('aborted'))
      res.on('aborted', () => resolve('aborted'))
    })
    req.on('error', () => resolve('aborted'))
    req.end()
  })
  t.equal(outcome, 'aborted')
  t.equal((await call(`${gw.url}/healthz`)).status, 200, 'the gateway still serves')
})

t.test('upstream stalling mid-body past UPSTREAM_TIMEOUT_MS: the client connection is aborted, not left hanging', async (t) => {
  const upstream = await startUpstream(t)
  upstream.handle((_req, res) => {
    res.setHeader('content-length', '100000')
    res.write(Buffer.alloc(1000, 97))
  })
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url, UPSTREAM_TIMEOUT_MS: TIMEOUT_MS })
  const started = Date.now()
  const outcome = await new Promise<string>((resolve) => {
    const req = httpRequest(`${gw.url}/stall`, { headers: { authorization: `Bearer ${sign()}` } }, (res) => {
      res.resume()
      res.on('end', () => resolve('ended cleanly'))
      res.on('error', () => resolve('aborted'))
      res.on('aborted', () => resolve('aborted'))
    })
    req.on('error', () => resolve('aborted'))
    req.end()
  })
  t.equal(outcome, 'aborted')
  t.ok(Date.now() - started < 3000, `after ${Date.now() - started} ms`)
})

t.test('after the upstream restarts on the same port, requests succeed again', async (t) => {
  const first = await startUpstream(t)
  const gw = await startGateway(t, { UPSTREAM_URL: first.url })
  t.equal((await call(`${gw.url}/a`, { token: sign() })).status, 200, 'pooled connection in use')
  await first.close()
  t.equal((await call(`${gw.url}/a`, { token: sign() })).status, 502, 'down')
  const second = await startUpstream(t, first.port)
  t.equal((await call(`${gw.url}/a`, { token: sign() })).status, 200, 'recovered without a restart')
  t.equal(second.seen.length, 1)
})

t.test('the gateway keeps serving other requests while upstream requests hang', async (t) => {
  const upstream = await startUpstream(t)
  upstream.handle((req, res) => {
    if (req.url === '/hang') return
    res.end('fast')
  })
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url, UPSTREAM_TIMEOUT_MS: '1500' })
  const token = sign()
  const hanging = Array.from({ length: 20 }, async () => await call(`${gw.url}/hang`, { token }))
  const started = Date.now()
  const others = await Promise.all([
    call(`${gw.url}/auth/verify`, { token }),
    call(`${gw.url}/fast`, { token }),
    call(`${gw.url}/healthz`)
  ])
  t.same(others.map((r) => r.status), [200, 200, 200])
  t.ok(Date.now() - started < 1000, `answered in ${Date.now() - started} ms while 20 requests hang`)
  t.same((await Promise.all(hanging)).map((r) => r.status), Array(20).fill(504))
})
