import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { sign } from '../helpers/tokens.js'
import { startUpstream } from '../helpers/upstream.js'
import { buildRequest, rawRequest } from '../server/raw.js'

interface Answer { status: number, headers: IncomingHttpHeaders, body: string }

async function send (url: string, options: { method?: string, headers?: Record<string, string>, body?: string | Buffer }): Promise<Answer> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => { body += d.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

t.test('HEAD is proxied: the upstream\'s status and headers, no body', async (t) => {
  const upstream = await startUpstream(t)
  upstream.handle((req, res) => {
    res.setHeader('content-length', '1234')
    res.setHeader('x-method', req.method ?? '')
    res.end(req.method === 'HEAD' ? undefined : 'x'.repeat(1234))
  })
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url })
  const res = await send(`${gw.url}/thing`, { method: 'HEAD', headers: { authorization: `Bearer ${sign()}` } })
  t.equal(res.status, 200)
  t.equal(res.headers['x-method'], 'HEAD')
  t.equal(res.headers['content-length'], '1234')
  t.equal(res.body, '')
})

t.test('a body without a content type reaches the upstream whole', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url })
  const res = await send(`${gw.url}/raw`, { method: 'POST', headers: { authorization: `Bearer ${sign()}`, 'content-length': '11' }, body: 'hello world' })
  t.equal(res.status, 200)
  t.equal(upstream.seen[0].bodyBytes, 11)
  t.equal(upstream.seen[0].headers['content-type'], undefined)
})

t.test('an upload sent with Expect: 100-continue is proxied, not refused', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url })
  const body = Buffer.alloc(4096, 97)
  const status = await new Promise<number>((resolve, reject) => {
    const req = httpRequest(`${gw.url}/upload`, { method: 'PUT', headers: { authorization: `Bearer ${sign()}`, expect: '100-continue', 'content-length': String(body.length) } }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('continue', () => req.end(body))
    req.on('error', reject)
  })
  t.equal(status, 200)
  t.equal(upstream.seen[0].bodyBytes, body.length)
  t.equal(upstream.seen[0].headers.expect, undefined, 'the gateway answered the 100-continue itself')
})

t.test('an absolute-form target or undecodable escapes are a 400 and never reach the upstream', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url, PUBLIC_PATHS: '/' })
  for (const target of ['http://evil.example/x', 'https://evil.example/', '/accounts/%zz', '/accounts/%ff%fe', '*']) {
    const res = await rawRequest(gw.url, buildRequest('GET', target, [['Authorization', `Bearer ${sign()}`]]))
    t.equal(res.status, 400, target)
    t.equal(JSON.parse(res.body).error, 'invalid_request')
  }
  t.equal(upstream.seen.length, 0)
})

t.test('UPSTREAM_URL\'s base path is prefixed, the query passes untouched and a fragment is dropped', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { UPSTREAM_URL: `${upstream.url}/v1/` })
  for (const [target, expected] of [['/accounts?b=2&a=%20x&a=1', '/v1/accounts?b=2&a=%20x&a=1'], ['/x?q=1#frag', '/v1/x?q=1'], ['/y#frag?q=1', '/v1/y'], ['/', '/v1/']]) {
    const res = await rawRequest(gw.url, buildRequest('GET', target, [['Authorization', `Bearer ${sign()}`]]))
    t.equal(res.status, 200, target)
    t.equal(JSON.parse(res.body).url, expected, target)
  }
})

t.test('informational 1xx responses from the upstream are skipped; the final response is passed on', async (t) => {
  const upstream = await startUpstream(t)
  upstream.handle((_req, res) => {
    res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' })
    res.end('final')
  })
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url })
  const res = await call(`${gw.url}/hints`, { token: sign() })
  t.equal(res.status, 200)
  t.equal(res.text, 'final')
})

t.test('an upstream answering before the upload ended closes the client connection after the answer', async (t) => {
  const upstream = await startUpstream(t)
  upstream.handle((_req, res) => { res.statusCode = 413; res.end('too large') })
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url })
  const res = await new Promise<Answer>((resolve, reject) => {
    const req = httpRequest(`${gw.url}/upload`, { method: 'PUT', headers: { authorization: `Bearer ${sign()}`, 'content-length': String(8 << 20) } }, (r) => {
      let body = ''
      r.on('data', (d: Buffer) => { body += d.toString() })
      r.on('end', () => { req.destroy(); resolve({ status: r.statusCode ?? 0, headers: r.headers, body }) })
    })
    req.on('error', reject)
    // More than PROXY_REQUEST_BUFFER_BYTES (64 KiB): the upload streams while the client sends it.
    req.write(Buffer.alloc(256 << 10, 97))
  })
  t.equal(res.status, 413)
  t.equal(res.body, 'too large')
  t.equal(res.headers.connection, 'close', 'the unread rest of the upload cannot be taken for the next request')
})
