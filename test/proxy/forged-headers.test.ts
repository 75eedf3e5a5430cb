import t, { type Test } from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { startUpstream } from '../helpers/upstream.js'
import { sign } from '../helpers/tokens.js'
import { buildRequest, rawRequest } from '../server/raw.js'

// Issue 11 item 3: headers a server could read as identity or forwarding
// headers never come from the client. The tests connect from 127.0.0.1:
// trusted by default, untrusted when TRUSTED_PROXIES lists another address.
const UNTRUSTED = { TRUSTED_PROXIES: '10.9.9.9' }

const FORWARDING: Array<[string, string]> = [
  ['Forwarded', 'for=6.6.6.6;proto=https'], ['X-Real-IP', '6.6.6.6'], ['True-Client-IP', '6.6.6.6'],
  ['X-Client-IP', '6.6.6.6'], ['X-Forwarded-Prefix', '/admin'], ['X-Forwarded-Port', '443'],
  ['X-Forwarded-Server', 'forged'], ['X-Original-Forwarded-For', '6.6.6.6'], ['CF-Connecting-IP', '6.6.6.6']
]
const UNDERSCORED: Array<[string, string]> = [
  ['X_User_Id', 'mallory'], ['x_user-id', 'mallory'], ['X-User_Roles', 'admin'], ['X_Token_Scope', 'everything'], ['x_token_jti', 'forged'],
  ['X_Forwarded_For', '6.6.6.6'], ['X_Real_IP', '6.6.6.6'], ['X_Forwarded_Proto', 'https']
]
const REROUTING: Array<[string, string]> = [
  ['X-HTTP-Method-Override', 'DELETE'], ['X-HTTP-Method', 'DELETE'], ['X-Method-Override', 'DELETE'], ['X_HTTP_Method_Override', 'DELETE'],
  ['X-Original-URL', '/admin'], ['X-Rewrite-URL', '/admin']
]

function names (headers: Array<[string, string]>): string[] {
  return headers.map(([name]) => name.toLowerCase())
}

async function seenWith (t: Test, env: Record<string, string>, headers: Array<[string, string]>): Promise<Record<string, unknown>> {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { UPSTREAM_URL: upstream.url, ...env })
  const res = await rawRequest(gw.url, buildRequest('GET', '/x', [['Authorization', `Bearer ${sign({ claims: { sub: 'alice' } })}`], ...headers]))
  t.equal(res.status, 200)
  return upstream.seen[0].headers
}

t.test('identity headers spelled with underscores never reach the upstream (CGI/WSGI read them as X-User-Id)', async (t) => {
  const seen = await seenWith(t, {}, UNDERSCORED)
  for (const name of names(UNDERSCORED)) t.equal(seen[name], undefined, name)
  t.equal(seen['x-user-id'], 'alice')
})

t.test('from an untrusted peer every forwarding header is dropped and the canonical ones are set', async (t) => {
  const seen = await seenWith(t, UNTRUSTED, FORWARDING)
  for (const name of names(FORWARDING)) t.equal(seen[name], undefined, name)
  t.same([seen['x-forwarded-for'], seen['x-forwarded-proto'], seen['x-forwarded-host']], ['127.0.0.1', 'http', 'gateway'])
})

t.test('from a trusted proxy forwarding headers are kept, Forwarded extended with the peer like X-Forwarded-For', async (t) => {
  const seen = await seenWith(t, {}, [...FORWARDING, ['X-Forwarded-For', '203.0.113.7']])
  t.equal(seen.forwarded, 'for=6.6.6.6;proto=https, for=127.0.0.1', 'RFC 7239 section 4: the peer is appended')
  t.equal(seen['x-forwarded-for'], '203.0.113.7, 127.0.0.1')
  t.equal(seen['x-real-ip'], '6.6.6.6')
  t.equal(seen['x-forwarded-prefix'], '/admin')
})

t.test('from a trusted proxy too, underscore spellings of forwarding headers are dropped (no proxy sends them)', async (t) => {
  const seen = await seenWith(t, {}, UNDERSCORED)
  for (const name of names(UNDERSCORED)) t.equal(seen[name], undefined, name)
})

t.test('method and URL override headers are never forwarded, from anyone: the upstream acts on what was authorised', async (t) => {
  for (const env of [{}, UNTRUSTED]) {
    const seen = await seenWith(t, env, REROUTING)
    for (const name of names(REROUTING)) t.equal(seen[name], undefined, name)
  }
})

t.test('the request id: a client\'s X-Request-Id is replaced upstream; a trusted proxy\'s is kept', async (t) => {
  const untrusted = await seenWith(t, UNTRUSTED, [['X-Request-Id', 'chosen-by-client']])
  t.not(untrusted['x-request-id'], 'chosen-by-client')
  t.match(untrusted['x-request-id'], /^[\w-]+-[0-9a-z]+$/, 'tokengate\'s own id')
  const trusted = await seenWith(t, {}, [['X-Request-Id', 'ingress-7f3a']])
  t.equal(trusted['x-request-id'], 'ingress-7f3a')
})
