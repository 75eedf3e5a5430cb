import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import t from 'tap'
import { IDENTITY_HEADERS } from '../../src/decision/identity.js'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { sign } from '../helpers/tokens.js'
import { startUpstream } from '../helpers/upstream.js'
import { buildRequest, rawRequest } from '../helpers/raw-http.js'
import { tempFile } from '../helpers/temp-dir.js'

async function get (url: string, headers: Record<string, string>): Promise<{ status: number, headers: IncomingHttpHeaders, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => { body += d.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

t.test('hop-by-hop request headers, and those Connection names, are not forwarded', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url })
  // Sent as raw bytes: node:http refuses to send some of these itself.
  const res = await rawRequest(gw.url, buildRequest('GET', '/hop', [
    ['Authorization', `Bearer ${sign()}`],
    ['Connection', 'x-secret-hop'],
    ['X-Secret-Hop', 'drop me'],
    ['Keep-Alive', 'timeout=5'],
    ['TE', 'trailers'],
    ['Trailer', 'x-checksum'],
    ['Upgrade', 'websocket'],
    ['Proxy-Authorization', 'Basic Zm9vOmJhcg=='],
    ['X-Kept', 'yes']
  ]))
  t.equal(res.status, 200)
  const seen = upstream.seen[0].headers
  for (const name of ['x-secret-hop', 'keep-alive', 'te', 'trailer', 'upgrade', 'proxy-authorization']) t.equal(seen[name], undefined, name)
  t.equal(seen['x-kept'], 'yes', 'end-to-end headers pass')
})

t.test('a chunked request body arrives whole, re-framed by the gateway', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url })
  const res = await new Promise<string>((resolve, reject) => {
    const req = httpRequest(`${gw.url}/chunked`, { method: 'POST', headers: { authorization: `Bearer ${sign()}`, 'transfer-encoding': 'chunked' } }, (r) => {
      let body = ''
      r.on('data', (d: Buffer) => { body += d.toString() })
      r.on('end', () => resolve(body))
    })
    req.on('error', reject)
    req.write('part one, ')
    req.end('part two')
  })
  t.equal(JSON.parse(res).bodyBytes, 'part one, part two'.length)
})

t.test('hop-by-hop response headers from the upstream are not passed to the client', async (t) => {
  const upstream = await startUpstream(t)
  upstream.handle((_req, res) => {
    res.setHeader('connection', 'x-internal-hop')
    res.setHeader('x-internal-hop', 'upstream secret')
    res.setHeader('keep-alive', 'timeout=99')
    res.setHeader('proxy-authenticate', 'Basic realm="internal"')
    res.setHeader('x-end-to-end', 'kept')
    res.end('ok')
  })
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url })
  const res = await get(`${gw.url}/resp`, { authorization: `Bearer ${sign()}` })
  t.equal(res.status, 200)
  t.equal(res.body, 'ok')
  t.equal(res.headers['x-internal-hop'], undefined)
  t.equal(res.headers['proxy-authenticate'], undefined)
  t.not(res.headers['keep-alive'], 'timeout=99')
  t.equal(res.headers['x-end-to-end'], 'kept')
})

t.test('identity headers sent by the client never reach the upstream, in any letter case', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url, PUBLIC_PATHS: '/public' })
  const forged = { 'X-User-Id': 'mallory', 'x-TOKEN-jti': 'forged', 'X-Token-Scope': 'admin', 'X-USER-ROLES': 'admin', 'x-user-ISSUER': 'https://partner.example' }
  const open = await get(`${gw.url}/public/x`, forged)
  const seenOpen = JSON.parse(open.body).headers as Record<string, string>
  for (const name of IDENTITY_HEADERS) t.equal(seenOpen[name], undefined, `public path: ${name}`)
  const authed = await get(`${gw.url}/private`, { ...forged, authorization: `Bearer ${sign({ claims: { sub: 'alice', scope: 'read', iss: 'https://idp.example/' } })}` })
  const seen = JSON.parse(authed.body).headers as Record<string, string>
  t.equal(seen['x-user-id'], 'alice')
  t.equal(seen['x-token-scope'], 'read')
  t.equal(seen['x-user-roles'], '', 'no roles in the token: empty, not the forged value')
  t.equal(seen['x-user-issuer'], 'https://idp.example/', 'the token\'s issuer, not the forged one')
})

t.test('access rules apply to proxied requests, //admin included, before the body is read', async (t) => {
  const file = tempFile(t, 'rules.json', JSON.stringify([{ method: '*', path: '/admin', roles: ['admin'] }]))
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url, ACCESS_RULES_FILE: file })
  const user = sign({ claims: { roles: ['user'] } })
  for (const path of ['/admin/x', '//admin/x', '/admin']) {
    const res = await get(`${gw.url}${path}`, { authorization: `Bearer ${user}` })
    t.equal(res.status, 403, path)
    t.match(res.headers['www-authenticate'], /error="insufficient_scope"/)
  }
  t.equal(upstream.seen.length, 0)
  t.equal((await call(`${gw.url}/admin/x`, { token: sign({ claims: { roles: ['admin'] } }) })).status, 200)
})
