import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { sign } from '../helpers/tokens.js'
import { startUpstream } from '../helpers/upstream.js'

// Issue 20 item 3: every answer carries X-Request-Id, the id the request is logged and audited under.
const TOKENGATE_ID = /^[\w-]+-[0-9a-z]+$/

t.test('forward-auth: allow, deny and early refusal answers carry the id; a trusted proxy\'s is echoed, a client\'s is not', async (t) => {
  const gw = await startGateway(t, { TRUSTED_PROXIES: '127.0.0.1' })
  const untrusted = await startGateway(t, { TRUSTED_PROXIES: '10.9.9.9' })
  const verify = async (url: string, headers: Record<string, string>, token?: string): Promise<Response> =>
    await fetch(`${url}/auth/verify`, { headers: { ...headers, ...(token !== undefined && { authorization: `Bearer ${token}` }) } })
  t.equal((await verify(gw.url, { 'x-request-id': 'ingress-1' }, sign())).headers.get('x-request-id'), 'ingress-1', 'allow: the trusted proxy\'s id')
  t.equal((await verify(gw.url, { 'x-request-id': 'ingress-2' })).headers.get('x-request-id'), 'ingress-2', 'deny')
  t.equal((await verify(gw.url, { 'x-request-id': 'ingress-3', 'x-original-uri': '/a//b' }, sign())).headers.get('x-request-id'), 'ingress-3', 'refused before the decision')
  const own = (await verify(untrusted.url, { 'x-request-id': 'chosen-by-client' }, sign())).headers.get('x-request-id')
  t.match(own, TOKENGATE_ID, 'from an untrusted peer: tokengate\'s own id, never the client\'s')
  t.not(own, 'chosen-by-client')
  // The same id in the decision log: the refused request above.
  const line = gw.logs.map((l) => JSON.parse(l) as { msg: string, reqId: string }).find((l) => l.msg === 'decision')
  t.equal(line?.reqId, 'ingress-2', 'the decision log names the same id')
})

t.test('Fastify routes, errors and the proxy carry it too; an upstream\'s own id is kept', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url })
  for (const [path, init] of [['/healthz', {}], ['/readyz', {}], ['/auth/logout', { method: 'POST' }], ['/accounts/1', {}]] as const) {
    const res = await fetch(`${gw.url}${path}`, init)
    t.match(res.headers.get('x-request-id'), TOKENGATE_ID, `${path} (${res.status})`)
  }
  const proxied = await fetch(`${gw.url}/accounts/1`, { headers: { authorization: `Bearer ${sign()}` } })
  t.equal(proxied.status, 200)
  const sent = upstream.seen.at(-1)?.headers['x-request-id']
  t.equal(proxied.headers.get('x-request-id'), sent, 'the client gets the id the upstream was sent')
  upstream.handle((_req, res) => { res.setHeader('x-request-id', 'upstream-own'); res.end('{}') })
  t.equal((await fetch(`${gw.url}/accounts/2`, { headers: { authorization: `Bearer ${sign()}` } })).headers.get('x-request-id'), 'upstream-own', 'an upstream answering with its own id keeps it')
  t.ok((await call(`${gw.url}/auth/logout`, { method: 'POST', token: sign() })).status === 200)
})
