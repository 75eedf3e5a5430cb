import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { buildRequest, rawRequest } from '../server/raw.js'
import { sign } from '../helpers/tokens.js'
import { startUpstream } from '../helpers/upstream.js'

// The tests connect from 127.0.0.1: trusted by default, untrusted when TRUSTED_PROXIES lists another address.
const UNTRUSTED = { TRUSTED_PROXIES: '10.9.9.9' }
const FORGED: Array<[string, string]> = [['X-Forwarded-For', '6.6.6.6'], ['X-Forwarded-Proto', 'https'], ['X-Forwarded-Host', 'forged.example']]

/** The X-Forwarded-* the upstream received, as [for, proto, host]. */
function forwarded (seen: Record<string, unknown>): unknown[] {
  return [seen['x-forwarded-for'], seen['x-forwarded-proto'], seen['x-forwarded-host']]
}

t.test('from an untrusted peer, X-Forwarded-For/-Proto/-Host are replaced, never believed', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url, ...UNTRUSTED })
  const res = await rawRequest(gw.url, buildRequest('GET', '/x', [['Authorization', `Bearer ${sign()}`], ...FORGED]))
  t.equal(res.status, 200)
  const seen = upstream.seen[0].headers
  t.same(forwarded(seen), ['127.0.0.1', 'http', 'gateway'], 'the peer only, the scheme tokengate was reached with, the Host the client sent to tokengate')
  t.equal(seen.host, new URL(upstream.url).host, 'Host is the upstream\'s')
})

t.test('from a trusted proxy, the peer is appended to X-Forwarded-For and -Proto/-Host are kept', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url })
  const res = await rawRequest(gw.url, buildRequest('GET', '/x', [['Authorization', `Bearer ${sign()}`], ['X-Forwarded-For', '203.0.113.7, 10.0.0.2'], ['X-Forwarded-Proto', 'https'], ['X-Forwarded-Host', 'api.example']]))
  t.equal(res.status, 200)
  const seen = upstream.seen[0].headers
  t.same(forwarded(seen), ['203.0.113.7, 10.0.0.2, 127.0.0.1', 'https', 'api.example'])
})

t.test('from a trusted proxy that sends none, tokengate starts the chain itself', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url, PUBLIC_PATHS: '/public' })
  t.equal((await rawRequest(gw.url, buildRequest('GET', '/public/x', []))).status, 200)
  const seen = upstream.seen[0].headers
  t.same(forwarded(seen), ['127.0.0.1', 'http', 'gateway'])
})

t.test('a Connection header cannot name tokengate\'s own X-Forwarded-* or identity headers away', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url, ...UNTRUSTED })
  const res = await rawRequest(gw.url, buildRequest('GET', '/x', [['Authorization', `Bearer ${sign({ claims: { sub: 'alice' } })}`],
    ['Connection', 'x-forwarded-for, X-User-Id, x-forwarded-host'], ['X-Forwarded-For', '6.6.6.6']]))
  t.equal(res.status, 200)
  const seen = upstream.seen[0].headers
  t.equal(seen['x-forwarded-for'], '127.0.0.1')
  t.equal(seen['x-forwarded-host'], 'gateway')
  t.equal(seen['x-user-id'], 'alice')
})
