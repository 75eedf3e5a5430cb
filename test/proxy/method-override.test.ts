import t, { type Test } from 'tap'
import { startExpressUpstream, type ExpressUpstream } from '../helpers/express-upstream.js'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { call, type JsonResponse } from '../helpers/http.js'
import { buildRequest, rawRequest } from '../helpers/raw-http.js'
import { tempFile } from '../helpers/temp-dir.js'
import { sign } from '../helpers/tokens.js'

// Issue 16 item 1 (method overrides), proxy mode, through a real Express 5 app
// using method-override: `_method` in a urlencoded or JSON body, the
// X-HTTP-Method-Override header and `_method` in the query. The assertions are
// on which Express handler ran.

const RULES = tempFile(t, 'rules.json', JSON.stringify([
  { method: 'POST', path: '/orders', scopes: ['orders:write'] },
  { method: 'DELETE', path: '/orders', roles: ['admin'] }
]))
const ROUTES = ['GET /orders', 'POST /orders', 'PUT /orders', 'DELETE /orders']
const writer = sign({ claims: { scope: 'orders:write' } })
const admin = sign({ claims: { scope: 'orders:write', roles: ['admin'] } })
const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

interface Stack { readonly gw: Gateway, readonly api: ExpressUpstream }

async function stack (t: Test, env: Record<string, string> = {}): Promise<Stack> {
  const api = await startExpressUpstream(t, ROUTES)
  const gw = await startGateway(t, { UPSTREAM_URL: api.url, ACCESS_RULES_FILE: RULES, ...env })
  return { gw, api }
}

async function post (url: string, token: string, init: Parameters<typeof call>[1] = {}): Promise<JsonResponse> {
  return await call(url, { method: 'POST', token, ...init })
}

t.test('control: the Express app honours _method in the body, the header and the query', async (t) => {
  const api = await startExpressUpstream(t, ROUTES)
  await post(`${api.url}/orders`, writer, { headers: FORM, body: '_method=DELETE' })
  await post(`${api.url}/orders`, writer, { json: { _method: 'DELETE' } })
  await post(`${api.url}/orders`, writer, { headers: { 'x-http-method-override': 'DELETE' } })
  await post(`${api.url}/orders?_method=DELETE`, writer)
  t.same(api.ran, ['DELETE /orders', 'DELETE /orders', 'DELETE /orders', 'DELETE /orders'])
})

t.test('UPSTREAM_METHOD_OVERRIDE=body (default): a POST with a body must pass the DELETE rule too; the DELETE handler never runs for a non-admin', async (t) => {
  const { gw, api } = await stack(t)
  for (const init of [{ headers: FORM, body: '_method=DELETE' }, { headers: FORM, body: 'x=1&_method=delete' }, { json: { _method: 'DELETE' } }, { headers: FORM, body: 'item=1' }]) {
    const res = await post(`${gw.url}/orders`, writer, init)
    t.equal(res.status, 403, `${String(init.body ?? JSON.stringify(init.json))}: refused as a rule refusal is`)
    t.equal(res.body.error, 'insufficient_scope')
  }
  t.same(api.ran, [], 'neither the DELETE nor the POST handler ran')
  const head = buildRequest('POST', '/orders', [['Authorization', `Bearer ${writer}`], ['Content-Type', FORM['content-type']], ['Transfer-Encoding', 'chunked']])
  const chunked = await rawRequest(gw.url, Buffer.concat([head, Buffer.from('e\r\n_method=DELETE\r\n0\r\n\r\n')]))
  t.equal(chunked.status, 403, 'a chunked body may carry one too')
  t.same(api.ran, [])

  t.equal((await post(`${gw.url}/orders`, writer)).status, 200, 'a POST without a body carries no override')
  t.same(api.ran, ['POST /orders'])
  t.equal((await post(`${gw.url}/orders`, admin, { headers: FORM, body: '_method=DELETE' })).status, 200, 'an admin passes both rules')
  t.same(api.ran, ['POST /orders', 'DELETE /orders'])
})

t.test('UPSTREAM_METHOD_OVERRIDE=none is the operator\'s declaration: a POST is decided as a POST, whatever its body', async (t) => {
  const { gw, api } = await stack(t, { UPSTREAM_METHOD_OVERRIDE: 'none' })
  t.equal((await post(`${gw.url}/orders`, writer, { headers: FORM, body: 'item=1' })).status, 200)
  t.same(api.ran, ['POST /orders'])
  // Declared wrongly (this upstream does honour body overrides), the declaration is what lets this through.
  t.equal((await post(`${gw.url}/orders`, writer, { headers: FORM, body: '_method=DELETE' })).status, 200)
  t.same(api.ran, ['POST /orders', 'DELETE /orders'])
})

t.test('_method in the query string is refused in either setting, however it is spelled; nothing reaches the API', async (t) => {
  for (const setting of ['body', 'none']) {
    const { gw, api } = await stack(t, { UPSTREAM_METHOD_OVERRIDE: setting })
    for (const query of ['_method=DELETE', '%5Fmethod=DELETE', '_%6Dethod=delete', '_method[]=DELETE', '_method%5B0%5D=DELETE', '_METHOD=DELETE', 'a=1;_method=DELETE', '_method']) {
      for (const [method, token] of [['POST', writer], ['POST', admin], ['GET', admin]] as const) {
        const res = await call(`${gw.url}/orders?${query}`, { method, token })
        t.equal(res.status, 400, `${setting}: ${method} ?${query}`)
        t.equal(res.body.error, 'invalid_request')
        t.match(res.body.error_description, /method override/)
      }
    }
    t.same(api.ran, [], `${setting}: no handler ran`)
    t.equal((await call(`${gw.url}/orders?sort=method&q=_method`, { token: writer })).status, 200, 'a value is not a name')
  }
})

t.test('the override header never reaches the API: the POST handler runs, not DELETE', async (t) => {
  const { gw, api } = await stack(t)
  t.equal((await post(`${gw.url}/orders`, writer, { headers: { 'x-http-method-override': 'DELETE' } })).status, 200)
  t.same(api.ran, ['POST /orders'])
})
