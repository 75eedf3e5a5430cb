import t from 'tap'
import { configProblems } from '../helpers/config.js'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { SECRET, sign } from '../helpers/tokens.js'
import { startUpstream } from '../helpers/upstream.js'

const ISSUER = 'https://sso.example.com/realms/customers'
const METADATA = 'https://api.example.com/.well-known/oauth-protected-resource'
const env = { JWT_ISSUER: ISSUER, RESOURCE_URL: 'https://api.example.com' }
const forged = sign({ key: 'another-secret-that-is-at-least-32-bytes-long', claims: { iss: ISSUER } })

t.test('RFC 9728 §3: the metadata names the resource, the trusted issuers and the header bearer method, as cacheable JSON', async (t) => {
  const gw = await startGateway(t, env)
  const res = await call(`${gw.url}/.well-known/oauth-protected-resource`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^application\/json/)
  t.equal(res.headers.get('cache-control'), 'public, max-age=3600')
  t.same(res.body, { resource: 'https://api.example.com', authorization_servers: [ISSUER], bearer_methods_supported: ['header'] })
  const head = await fetch(`${gw.url}/.well-known/oauth-protected-resource`, { method: 'HEAD' })
  t.equal(head.status, 200, 'HEAD too')
})

t.test('RFC 9728 §3.3: resource comes from RESOURCE_URL, never from the Host or X-Forwarded-Host header', async (t) => {
  const gw = await startGateway(t, env)
  for (const headers of [{ host: 'evil.example.net' }, { 'x-forwarded-host': 'evil.example.net', 'x-forwarded-proto': 'http' }]) {
    const res = await call(`${gw.url}/.well-known/oauth-protected-resource`, { headers })
    t.equal(res.body.resource, 'https://api.example.com', JSON.stringify(headers))
    t.notMatch(res.text, /evil/)
  }
})

t.test('RFC 9728 §3.1: a resource with a path is described at the path-inserted URL only', async (t) => {
  const gw = await startGateway(t, { ...env, RESOURCE_URL: 'https://api.example.com/orders/v1/' })
  const res = await call(`${gw.url}/.well-known/oauth-protected-resource/orders/v1`)
  t.equal(res.status, 200)
  t.equal(res.body.resource, 'https://api.example.com/orders/v1/', 'named exactly as configured')
  t.equal((await call(`${gw.url}/.well-known/oauth-protected-resource`)).status, 404, 'the bare URL would describe https://api.example.com (§3.3)')
  const refused = await call(`${gw.url}/auth/verify`, { token: forged })
  t.match(refused.headers.get('www-authenticate'), /, resource_metadata="https:\/\/api\.example\.com\/\.well-known\/oauth-protected-resource\/orders\/v1"$/)
})

t.test('RFC 9728 §5.1: every Bearer challenge carries resource_metadata, in forward-auth and proxy mode alike', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { ...env, UPSTREAM_URL: upstream.url })
  const missing = await call(`${gw.url}/orders`)
  t.equal(missing.status, 401)
  t.equal(missing.headers.get('www-authenticate'), `Bearer realm="tokengate", resource_metadata="${METADATA}"`)
  const invalid = await call(`${gw.url}/orders`, { token: forged })
  t.equal(invalid.headers.get('www-authenticate'), `Bearer realm="tokengate", error="invalid_token", error_description="The token signature is invalid", resource_metadata="${METADATA}"`)
  const fastRoute = await call(`${gw.url}/auth/verify`, { token: forged })
  t.equal(fastRoute.headers.get('www-authenticate'), invalid.headers.get('www-authenticate'), 'the forward-auth fast route answers the same')
  const admin = await call(`${gw.url}/admin/alerts`, { token: sign({ claims: { iss: ISSUER } }) })
  t.equal(admin.status, 403)
  t.equal(admin.headers.get('www-authenticate'), `Bearer realm="tokengate", error="insufficient_scope", scope="admin", resource_metadata="${METADATA}"`)
  t.equal(upstream.seen.length, 0)
})

t.test('in proxy mode the metadata path is tokengate\'s: served without a token, never forwarded', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { ...env, UPSTREAM_URL: upstream.url })
  const res = await call(`${gw.url}/.well-known/oauth-protected-resource`)
  t.equal(res.status, 200)
  t.equal(res.body.resource, 'https://api.example.com')
  t.equal(upstream.seen.length, 0)
})

t.test('without RESOURCE_URL: 404 in forward-auth mode, the upstream\'s path in proxy mode, and no resource_metadata', async (t) => {
  const plain = await startGateway(t, { JWT_ISSUER: ISSUER })
  t.equal((await call(`${plain.url}/.well-known/oauth-protected-resource`)).status, 404)
  t.equal((await call(`${plain.url}/auth/verify`)).headers.get('www-authenticate'), 'Bearer realm="tokengate"')
  const upstream = await startUpstream(t)
  const proxy = await startGateway(t, { JWT_ISSUER: ISSUER, UPSTREAM_URL: upstream.url })
  const token = sign({ claims: { iss: ISSUER } })
  t.equal((await call(`${proxy.url}/.well-known/oauth-protected-resource`, { token })).status, 200)
  t.same(upstream.seen.map((seen) => seen.url), ['/.well-known/oauth-protected-resource'], 'forwarded like any path, after the token is checked')
})

t.test('RESOURCE_URL: https (http only with NODE_ENV=development), no query or fragment (RFC 9728 §1.2)', async (t) => {
  const base = { JWT_SECRET: SECRET }
  t.match(configProblems({ ...base, RESOURCE_URL: 'http://api.example.com' }), [/^RESOURCE_URL: protocol http: is not accepted; expected https:$/])
  t.same(configProblems({ ...base, NODE_ENV: 'development', RESOURCE_URL: 'http://localhost:8080' }), [])
  t.match(configProblems({ ...base, RESOURCE_URL: 'https://api.example.com/#x' }), [/^RESOURCE_URL: has a query or fragment/])
  t.match(configProblems({ ...base, RESOURCE_URL: 'https://api.example.com/?tenant=1' }), [/^RESOURCE_URL: has a query or fragment/])
  t.match(configProblems({ ...base, RESOURCE_URL: 'api.example.com' }), [/^RESOURCE_URL: not a URL/])
})

t.test('RFC 9728 §5.1: two gateways in one process each name their own resource metadata, or none', async (t) => {
  const withMetadata = await startGateway(t, env)
  const without = await startGateway(t, {})
  for (let round = 0; round < 2; round++) {
    for (const path of ['/auth/verify', '/auth/token/validate']) {
      const named = await call(`${withMetadata.url}${path}`)
      const bare = await call(`${without.url}${path}`)
      t.equal(named.status, 401, path)
      t.match(named.headers.get('www-authenticate'), `resource_metadata="${METADATA}"`, `${path}: its own`)
      t.equal(bare.status, 401, path)
      t.notMatch(bare.headers.get('www-authenticate'), /resource_metadata/, `${path}: none for the gateway without RESOURCE_URL`)
    }
  }
})
