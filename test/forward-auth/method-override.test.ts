import t from 'tap'
import { nginxMissing, startNginx } from '../deploy/nginx.js'
import { startExpressUpstream } from '../helpers/express-upstream.js'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { tempFile } from '../helpers/temp-dir.js'
import { sign } from '../helpers/tokens.js'

// Issue 16 item 1 (method overrides), forward-auth mode: the original body
// never reaches tokengate, so every POST may carry `_method`; the query is in
// the original URI. Driven through the route with the headers a trusted proxy
// sends, then through real nginx (deploy/nginx/tokengate.conf) in front of a
// real Express 5 app using method-override, asserting on the handler that ran.

const RULES = tempFile(t, 'rules.json', JSON.stringify([
  { method: 'POST', path: '/orders', scopes: ['orders:write'] },
  { method: 'DELETE', path: '/orders', roles: ['admin'] }
]))
const ROUTES = ['GET /orders', 'POST /orders', 'DELETE /orders']
const writer = sign({ claims: { scope: 'orders:write' } })
const admin = sign({ claims: { scope: 'orders:write', roles: ['admin'] } })
const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

async function verify (url: string, token: string, method: string, uri: string, convention: 'nginx' | 'traefik' = 'nginx'): Promise<{ status: number, error?: string }> {
  const headers = convention === 'nginx' ? { 'x-original-method': method, 'x-original-uri': uri } : { 'x-forwarded-method': method, 'x-forwarded-uri': uri }
  const res = await call(`${url}/auth/verify`, { token, headers })
  return { status: res.status, error: res.body?.error }
}

t.test('UPSTREAM_METHOD_OVERRIDE=body (default): every original POST must pass the rules of every method; =none: decided as a POST', async (t) => {
  const strict = await startGateway(t, { ACCESS_RULES_FILE: RULES })
  for (const convention of ['nginx', 'traefik'] as const) {
    t.same(await verify(strict.url, writer, 'POST', '/orders', convention), { status: 403, error: 'insufficient_scope' }, convention)
    t.equal((await verify(strict.url, admin, 'POST', '/orders', convention)).status, 200)
  }
  t.equal((await verify(strict.url, writer, 'GET', '/orders')).status, 200, 'other methods are decided as themselves')
  const declared = await startGateway(t, { ACCESS_RULES_FILE: RULES, UPSTREAM_METHOD_OVERRIDE: 'none' })
  t.equal((await verify(declared.url, writer, 'POST', '/orders')).status, 200)
  t.equal((await verify(declared.url, writer, 'DELETE', '/orders')).status, 403)
})

t.test('an override may name any method (method-override takes any, Rack GET too): a rule for GET alone covers an original POST', async (t) => {
  const rules = tempFile(t, 'get-rules.json', JSON.stringify([{ method: 'GET', path: '/reports', scopes: ['reports:read'] }]))
  const strict = await startGateway(t, { ACCESS_RULES_FILE: rules })
  t.equal((await verify(strict.url, writer, 'POST', '/reports/1')).status, 403)
  t.equal((await verify(strict.url, sign({ claims: { scope: 'reports:read' } }), 'POST', '/reports/1')).status, 200)
  const declared = await startGateway(t, { ACCESS_RULES_FILE: rules, UPSTREAM_METHOD_OVERRIDE: 'none' })
  t.equal((await verify(declared.url, writer, 'POST', '/reports/1')).status, 200)
})

t.test('_method in the original URI\'s query is refused in either setting', async (t) => {
  for (const setting of ['body', 'none']) {
    const gw = await startGateway(t, { ACCESS_RULES_FILE: RULES, UPSTREAM_METHOD_OVERRIDE: setting })
    for (const query of ['_method=DELETE', '%5Fmethod=DELETE', '_%6Dethod=DELETE', '_method%5B%5D=DELETE', '_Method=put', 'x=1;_method=DELETE']) {
      for (const convention of ['nginx', 'traefik'] as const) {
        t.same(await verify(gw.url, admin, 'POST', `/orders?${query}`, convention), { status: 400, error: 'invalid_request' }, `${setting} ${convention}: ?${query}`)
      }
    }
    t.equal((await verify(gw.url, admin, 'GET', '/orders?q=_method')).status, 200, 'a value is not a name')
  }
})

const skip = nginxMissing

t.test('through real nginx and Express: a non-admin POST with _method=DELETE in the body never reaches the DELETE handler', { skip }, async (t) => {
  const api = await startExpressUpstream(t, ROUTES)
  const gw = await startGateway(t, { ACCESS_RULES_FILE: RULES })
  const nginx = await startNginx(t, { tokengate: Number(new URL(gw.url).port), api: api.port })
  const refused = await call(`${nginx.url}/orders`, { method: 'POST', token: writer, headers: FORM, body: '_method=DELETE' })
  t.equal(refused.status, 403)
  t.same(api.ran, [], 'no handler ran')
  const query = await call(`${nginx.url}/orders?_method=DELETE`, { method: 'POST', token: admin })
  t.equal(query.status, 400, 'the query override is refused, admin or not')
  t.same(api.ran, [])
  t.equal((await call(`${nginx.url}/orders`, { method: 'POST', token: admin, headers: FORM, body: '_method=DELETE' })).status, 200)
  t.same(api.ran, ['DELETE /orders'], 'an admin may: the override reached Express')
})

t.test('through real nginx and Express with UPSTREAM_METHOD_OVERRIDE=none: the operator\'s declaration decides the POST as a POST', { skip }, async (t) => {
  const api = await startExpressUpstream(t, ROUTES)
  const gw = await startGateway(t, { ACCESS_RULES_FILE: RULES, UPSTREAM_METHOD_OVERRIDE: 'none' })
  const nginx = await startNginx(t, { tokengate: Number(new URL(gw.url).port), api: api.port })
  t.equal((await call(`${nginx.url}/orders`, { method: 'POST', token: writer, headers: FORM, body: 'item=1' })).status, 200)
  t.same(api.ran, ['POST /orders'])
  // Declared wrongly (this Express app does honour body overrides), the declaration is what lets this through.
  t.equal((await call(`${nginx.url}/orders`, { method: 'POST', token: writer, headers: FORM, body: '_method=DELETE' })).status, 200)
  t.same(api.ran, ['POST /orders', 'DELETE /orders'])
  t.equal((await call(`${nginx.url}/orders?_method=DELETE`, { method: 'POST', token: writer })).status, 400, 'the query is refused all the same')
  t.same(api.ran, ['POST /orders', 'DELETE /orders'])
})
