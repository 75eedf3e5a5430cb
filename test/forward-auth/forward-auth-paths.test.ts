import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { VARIANTS } from '../helpers/path-variants.js'
import { sign } from '../helpers/tokens.js'
import { buildRequest, rawRequest } from '../helpers/raw-http.js'
import { tempFile } from '../helpers/temp-dir.js'

// Issues 11 and 16 item 1, forward-auth mode: nginx and Traefik forward the URI
// as the client sent it, so it is decided on decoded, and a spelling that a
// raw-routing and a decoding upstream could route apart (`//`, and what the
// proxy refuses) is refused; the sub-requests below carry the headers nginx
// sends (from 127.0.0.1, a trusted proxy by default).

const RULES = tempFile(t, 'rules.json', JSON.stringify([
  { method: 'POST', path: '/payments', scopes: ['payments:write'] },
  { method: 'GET', path: '/reports', scopes: ['reports:read'] }
]))

async function verify (url: string, method: string, uri: string, token: string, extra: Array<[string, string]> = []): Promise<{ status: number, error?: string, description?: string }> {
  const res = await rawRequest(url, buildRequest('GET', '/auth/verify', [
    ['Authorization', `Bearer ${token}`], ['X-Original-Method', method], ['X-Original-URI', uri], ...extra]))
  const body = res.body === '' ? {} : JSON.parse(res.body)
  return { status: res.status, error: body.error, description: body.error_description }
}

t.test('forward-auth: every spelling is decided on its decoded path or refused with 400, never allowed past a rule', async (t) => {
  const gw = await startGateway(t, { ACCESS_RULES_FILE: RULES })
  const writer = sign({ claims: { scope: 'payments:write' } })
  const reader = sign({ claims: { scope: 'payments:read' } })
  for (const [path, expected] of VARIANTS) {
    const normal = expected !== 400 && !path.includes('//')
    const allowed = await verify(gw.url, 'POST', `${path}?q=1`, writer)
    t.equal(allowed.status, normal ? 200 : 400, `${path} with payments:write`)
    if (!normal) t.equal(allowed.error, 'invalid_request', path)
    const denied = await verify(gw.url, 'POST', path, reader)
    t.equal(denied.status, normal ? 403 : 400, `${path} without payments:write is never allowed`)
  }
})

t.test('forward-auth: escapes are decoded, a doubled slash is refused as not canonical, an ambiguous URI as ambiguous', async (t) => {
  const gw = await startGateway(t, { ACCESS_RULES_FILE: RULES })
  const token = sign({ claims: { scope: 'payments:write' } })
  t.equal((await verify(gw.url, 'POST', '/%70ayments', token)).status, 200)
  t.equal((await verify(gw.url, 'POST', '/%70ayments', sign())).status, 403)
  t.match((await verify(gw.url, 'POST', '//payments', token)).description, /repeats/)
  t.match((await verify(gw.url, 'POST', '/x/%2e%2e/payments', token)).description, /without ambiguity/)
  t.match((await verify(gw.url, 'POST', '/%E2%84%AAyc', token)).description, /NFC/)
})

t.test('forward-auth: raw UTF-8 in the original URI (as nginx passes it) is decided as its escaped spelling is', async (t) => {
  const gw = await startGateway(t, { ACCESS_RULES_FILE: tempFile(t, 'utf8-rules.json', JSON.stringify([{ method: 'GET', path: '/voilà', scopes: ['fr'] }])) })
  // `à` is C3 A0 in UTF-8: the header arrives as latin1, its second byte U+00A0 (a space to \s).
  const raw = Buffer.from('/voilà/x', 'utf8').toString('latin1')
  for (const uri of [raw, '/voil%C3%A0/x', '/VOIL%C3%80/x']) {
    t.equal((await verify(gw.url, 'GET', uri, sign({ claims: { scope: 'fr' } }))).status, 200, uri)
    t.equal((await verify(gw.url, 'GET', uri, sign())).status, 403, `${uri} without the scope`)
  }
})

t.test('forward-auth: a rule for GET also covers HEAD', async (t) => {
  const gw = await startGateway(t, { ACCESS_RULES_FILE: RULES })
  t.equal((await verify(gw.url, 'HEAD', '/reports', sign())).status, 403)
  t.equal((await verify(gw.url, 'HEAD', '/reports', sign({ claims: { scope: 'reports:read' } }))).status, 200)
})

t.test('forward-auth: method and URL override headers are refused, in any spelling (the proxy would pass them on)', async (t) => {
  const gw = await startGateway(t, { ACCESS_RULES_FILE: RULES })
  const token = sign({ claims: { scope: 'payments:read' } })
  for (const name of ['X-HTTP-Method-Override', 'X-HTTP-Method', 'X-Method-Override', 'X_HTTP_Method_Override', 'X-Original-URL', 'X-Rewrite-URL', 'x_original_url']) {
    const res = await verify(gw.url, 'GET', '/payments', token, [[name, name.toLowerCase().includes('url') ? '/payments' : 'POST']])
    t.equal(res.status, 400, name)
    t.equal(res.error, 'invalid_request', name)
  }
  t.equal((await verify(gw.url, 'GET', '/payments', token)).status, 200, 'the same request without one is decided')
})
