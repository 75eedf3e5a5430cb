import { request as httpRequest } from 'node:http'
import { Readable } from 'node:stream'
import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { startUpstream } from '../helpers/upstream.js'
import { sign } from '../helpers/tokens.js'

t.test('an allowed request reaches the upstream with identity set from the token', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url })
  const token = sign({ claims: { sub: 'alice', jti: 'jti-alice-1', scope: 'accounts:read', roles: ['customer'] } })
  const res = await call(`${gw.url}/accounts/42?expand=1`, {
    token,
    headers: { 'x-user-id': 'mallory', 'x-user-roles': 'admin', 'x-token-scope': 'everything', 'x-token-jti': 'forged' }
  })
  t.equal(res.status, 200)
  t.equal(res.body.url, '/accounts/42?expand=1')
  t.equal(res.body.headers['x-user-id'], 'alice')
  t.equal(res.body.headers['x-token-jti'], 'jti-alice-1')
  t.equal(res.body.headers['x-token-scope'], 'accounts:read')
  t.equal(res.body.headers['x-user-roles'], 'customer')
})

t.test('no token, bad token, revoked token: 401 and the upstream never sees the request', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url })
  const revoked = sign()
  await call(`${gw.url}/auth/logout`, { method: 'POST', token: revoked })
  for (const token of [undefined, 'garbage', sign({ key: 'wrong-secret-wrong-secret-wrong-secret!' }), revoked]) {
    const res = await call(`${gw.url}/private`, { method: 'POST', body: 'secret payload', ...(token !== undefined && { token }) })
    t.equal(res.status, 401)
    t.match(res.headers.get('www-authenticate'), /^Bearer realm="tokengate"/)
  }
  t.equal(upstream.seen.length, 0)
})

t.test('public paths pass without a token by whole segments, and identity headers are still stripped', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url, PUBLIC_PATHS: '/public,/status' })
  const open = await call(`${gw.url}/public/docs?x=1`, { headers: { 'x-user-id': 'mallory' } })
  t.equal(open.status, 200)
  t.equal(open.body.headers['x-user-id'], undefined)
  t.equal((await call(`${gw.url}/public`)).status, 200)
  t.equal((await call(`${gw.url}/status`)).status, 200)
  t.equal((await call(`${gw.url}/publicity`)).status, 401, '/publicity is not under /public')
  t.equal((await call(`${gw.url}/statusx/y`)).status, 401)
})

t.test('path smuggling never reaches the upstream unauthenticated', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url, PUBLIC_PATHS: '/public' })
  const attempts = ['/public/../private', '/public/%2e%2e/private', '/public/%2E%2E/private', '/public%2fprivate',
    '/public/..%2fprivate', '/public/.%2e/private', '/public\\..\\private', '/public/./../private', '//public/../private', '/public/%00/x',
    '/public/..;/private', '/public/..%3b/private', '/public/..;jsessionid=x/private', '/public/%5c../private']
  for (const path of attempts) {
    // node:http sends the path exactly as written (fetch would normalise it).
    const status = await new Promise<number>((resolve, reject) => {
      const { hostname, port } = new URL(gw.url)
      const req = httpRequest({ hostname, port, path, method: 'GET' }, (res) => { res.resume(); resolve(res.statusCode ?? 0) })
      req.on('error', reject)
      req.end()
    })
    t.ok(status === 400 || status === 401, `${path} -> ${status}`)
  }
  t.same(upstream.seen.map((r) => r.url), [])
})

t.test('the gateway\'s own routes are not proxied', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url })
  t.equal((await call(`${gw.url}/healthz`)).body.status, 'ok')
  t.equal((await call(`${gw.url}/auth/verify`, { token: sign() })).status, 200)
  t.equal(upstream.seen.length, 0)
})

t.test('a large request body is streamed to the upstream, not buffered', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url })
  const chunk = Buffer.alloc(1 << 20, 97)
  const totalMb = 64
  let sent = 0
  let firstByteAtUpstream = -1
  upstream.handle((req, res) => {
    let received = 0
    req.on('data', (data: Buffer) => {
      if (firstByteAtUpstream < 0) firstByteAtUpstream = sent
      received += data.length
    })
    req.on('end', () => res.end(JSON.stringify({ received })))
  })
  const body = Readable.from((async function * () {
    for (let i = 0; i < totalMb; i++) { sent += chunk.length; yield chunk }
  })())
  const res = await fetch(`${gw.url}/upload`, { method: 'PUT', body, duplex: 'half', headers: { authorization: `Bearer ${sign()}` } } as RequestInit)
  t.equal(res.status, 200)
  t.same(await res.json(), { received: totalMb * chunk.length })
  t.ok(firstByteAtUpstream >= 0 && firstByteAtUpstream < (totalMb / 2) * chunk.length,
    `the upstream saw data after ${(firstByteAtUpstream / chunk.length).toFixed(0)} MB of ${totalMb} MB were sent`)
})

t.test('a large response is streamed: the client reads its start before the upstream sends the rest', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url })
  const size = 32 << 20
  const part = Buffer.alloc(1 << 16, 98)
  let clientHasData: () => void = () => {}
  const clientStarted = new Promise<void>((resolve) => { clientHasData = resolve })
  upstream.handle((_req, res) => {
    res.setHeader('content-length', String(size))
    let written = 0
    const pump = (): void => {
      while (written < size) {
        written += part.length
        if (!res.write(part)) { res.once('drain', pump); return }
      }
      res.end()
    }
    // One part, then nothing more until the client has seen bytes: a buffering gateway would deadlock here.
    written = part.length
    res.write(part)
    clientStarted.then(pump, () => {})
  })
  const res = await fetch(`${gw.url}/download`, { headers: { authorization: `Bearer ${sign()}` } })
  t.equal(res.status, 200)
  let received = 0
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    if (received === 0) clientHasData()
    received += chunk.byteLength
  }
  t.equal(received, size, 'the whole 32 MB arrived')
})
