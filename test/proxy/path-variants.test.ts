import t from 'tap'
import { startFastifyUpstream } from '../helpers/fastify-upstream.js'
import { startGateway } from '../helpers/gateway.js'
import { VARIANTS } from '../helpers/path-variants.js'
import { sign } from '../helpers/tokens.js'
import { buildRequest, rawRequest } from '../helpers/raw-http.js'
import { tempFile } from '../helpers/temp-dir.js'

// Issues 11 and 16 item 1: the decision is made on the path the upstream acts
// on (every escape decoded), and in proxy mode that is the path forwarded.

const RULES = tempFile(t, 'rules.json', JSON.stringify([
  { method: 'POST', path: '/payments', scopes: ['payments:write'] },
  { method: 'GET', path: '/reports', scopes: ['reports:read'] }
]))

const JSON_TYPE: [string, string] = ['Content-Type', 'application/json']
const reader = (): string => sign({ claims: { scope: 'payments:read' } })
const writer = (): string => sign({ claims: { scope: 'payments:write' } })

t.test('proxy mode: every path variant reaches a real Fastify upstream as the canonical path that was authorised', async (t) => {
  const api = await startFastifyUpstream(t, ['POST /payments', 'POST /payments/*'])
  const gw = await startGateway(t, { UPSTREAM_URL: api.url, ACCESS_RULES_FILE: RULES })
  for (const [path, expected] of VARIANTS) {
    const before = api.reached.length
    const res = await rawRequest(gw.url, buildRequest('POST', `${path}?q=%2e1`, [['Authorization', `Bearer ${writer()}`], JSON_TYPE], '{}'))
    if (expected === 400) {
      t.equal(res.status, 400, `${path} refused`)
      t.equal(JSON.parse(res.body).error, 'invalid_request', path)
      t.equal(api.reached.length, before, `${path}: nothing forwarded`)
    } else {
      t.equal(res.status, 200, path)
      t.equal(api.reached.at(-1)?.url, `${expected}?q=%2e1`, `${path}: the upstream received the canonical path and the query as sent`)
    }
  }
})

t.test('proxy mode: a token without payments:write never reaches the protected handler, whatever the spelling', async (t) => {
  const api = await startFastifyUpstream(t, ['POST /payments', 'POST /payments/*'])
  const gw = await startGateway(t, { UPSTREAM_URL: api.url, ACCESS_RULES_FILE: RULES })
  for (const [path, expected] of VARIANTS) {
    const res = await rawRequest(gw.url, buildRequest('POST', path, [['Authorization', `Bearer ${reader()}`], JSON_TYPE], '{}'))
    t.equal(res.status, expected === 400 ? 400 : 403, path)
  }
  t.same(api.reached, [], 'no variant reached the upstream')
})

t.test('proxy mode: a rule for GET also covers HEAD', async (t) => {
  const api = await startFastifyUpstream(t, ['GET /reports'])
  const gw = await startGateway(t, { UPSTREAM_URL: api.url, ACCESS_RULES_FILE: RULES })
  for (const path of ['/reports', '/%72eports']) {
    const res = await rawRequest(gw.url, buildRequest('HEAD', path, [['Authorization', `Bearer ${reader()}`]]))
    t.equal(res.status, 403, `HEAD ${path}`)
  }
  t.same(api.reached, [])
  const allowed = await rawRequest(gw.url, buildRequest('HEAD', '/reports', [['Authorization', `Bearer ${sign({ claims: { scope: 'reports:read' } })}`]]))
  t.equal(allowed.status, 200)
  t.equal(api.reached[0]?.route, 'GET /reports', 'Fastify answers HEAD with the GET handler')
})

t.test('proxy mode: public paths are decided on the canonical path, letter case kept', async (t) => {
  const api = await startFastifyUpstream(t, ['GET /public/*'])
  const gw = await startGateway(t, { UPSTREAM_URL: api.url, PUBLIC_PATHS: '/public' })
  for (const [path, status] of [['/%70ublic/x', 200], ['//public/x', 200], ['/Public/x', 401], ['/public;x/y', 400], ['/public/%2e%2e/private', 400]] as const) {
    t.equal((await rawRequest(gw.url, buildRequest('GET', path, []))).status, status, path)
  }
  t.same(api.reached.map((r) => r.url), ['/public/x', '/public/x'])
})
