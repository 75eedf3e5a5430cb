import t from 'tap'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { startUpstream } from '../helpers/upstream.js'
import { sign } from '../helpers/tokens.js'
import { tempFile } from '../helpers/temp-dir.js'

/** Every /admin route; revoke-all last, since it revokes the caller's token too. */
const ADMIN_ROUTES: ReadonlyArray<readonly [method: string, path: string]> = [
  ['POST', '/admin/users/u1/revoke'],
  ['POST', '/admin/tokens/revoke'],
  ['GET', '/admin/blacklist/status'],
  ['GET', '/admin/health'],
  ['POST', '/admin/cleanup'],
  ['GET', '/admin/alerts'],
  ['GET', '/admin/users/u1/activity'],
  ['GET', '/admin/audit/summary'],
  ['POST', '/admin/revoke-all']
]

async function adminCall (gw: Gateway, method: string, path: string, token: string): Promise<number> {
  const body = method === 'POST' ? { json: { reason: 'drill', jti: 'j-1' } } : {}
  return (await call(`${gw.url}${path}`, { method, token, ...body })).status
}

function rulesFile (rules: unknown): string {
  return tempFile(t, 'rules.json', JSON.stringify(rules))
}

// RFC 6749 §3.3: the client chooses the scopes it asks for, so a scope is never administrative authority.
t.test('a token whose scope (or scp) holds ADMIN_ROLE but whose roles do not is 403 on every /admin route', async (t) => {
  const gw = await startGateway(t)
  const scoped = [sign({ claims: { scope: 'read admin' } }), sign({ claims: { scp: ['admin'] } }), sign({ claims: { scope: 'admin', roles: ['user'] } })]
  for (const [method, path] of ADMIN_ROUTES) {
    for (const token of scoped) t.equal(await adminCall(gw, method, path, token), 403, `${method} ${path}`)
  }
  const admin = sign({ claims: { roles: ['admin'] } })
  for (const [method, path] of ADMIN_ROUTES) t.equal(await adminCall(gw, method, path, admin), 200, `${method} ${path} with the role`)
})

t.test('ROLES_CLAIM=realm_access.roles: a Keycloak-shaped token is an administrator, a top-level roles claim no longer counts', async (t) => {
  const gw = await startGateway(t, { ROLES_CLAIM: 'realm_access.roles' })
  const keycloak = sign({ claims: { realm_access: { roles: ['offline_access', 'admin'] }, resource_access: { account: { roles: ['manage-account'] } } } })
  t.equal(await adminCall(gw, 'GET', '/admin/alerts', sign({ claims: { roles: ['admin'] } })), 403, 'roles is not a role claim here')
  t.equal(await adminCall(gw, 'GET', '/admin/alerts', sign({ claims: { realm_access: 'admin' } })), 403, 'a string where an object is expected holds no roles')
  t.equal(await adminCall(gw, 'GET', '/admin/alerts', sign({ claims: { realm_access: { roles: 'admin' } } })), 200, 'a string value is a role list')
  for (const [method, path] of ADMIN_ROUTES) t.equal(await adminCall(gw, method, path, keycloak), 200, `${method} ${path}`)
})

t.test('several ROLES_CLAIM paths: roles from any of them; a claim name with a dot is written with \\.', async (t) => {
  const gw = await startGateway(t, { ROLES_CLAIM: 'groups, https://example\\.com/roles' })
  t.equal(await adminCall(gw, 'GET', '/admin/alerts', sign({ claims: { groups: ['admin'] } })), 200)
  t.equal(await adminCall(gw, 'GET', '/admin/alerts', sign({ claims: { 'https://example.com/roles': ['admin'] } })), 200)
  t.equal(await adminCall(gw, 'GET', '/admin/alerts', sign({ claims: { https: { '//example': { 'com/roles': ['admin'] } } } })), 403, 'the escaped dot is not a path separator')
  t.equal(await adminCall(gw, 'GET', '/admin/alerts', sign({ claims: { role: 'admin' } })), 403, 'the default paths are replaced')
})

t.test('access rules read roles through ROLES_CLAIM in proxy and forward-auth mode; X-User-Roles carries them', async (t) => {
  const upstream = await startUpstream(t)
  const env = { ROLES_CLAIM: 'realm_access.roles', ACCESS_RULES_FILE: rulesFile([{ method: '*', path: '/reports', roles: ['auditor'] }]) }
  const proxy = await startGateway(t, { ...env, UPSTREAM_URL: upstream.url })
  const forwardAuth = await startGateway(t, env)
  const auditor = sign({ claims: { realm_access: { roles: ['auditor'] } } })
  const topLevel = sign({ claims: { roles: ['auditor'] } })
  const scoped = sign({ claims: { scope: 'auditor' } })

  const proxied = await call(`${proxy.url}/reports/q3`, { token: auditor })
  t.equal(proxied.status, 200)
  t.equal(proxied.body.headers['x-user-roles'], 'auditor')
  for (const token of [topLevel, scoped]) t.equal((await call(`${proxy.url}/reports/q3`, { token })).status, 403)
  t.equal(upstream.seen.length, 1, 'only the Keycloak-shaped token reached the upstream')

  const verify = async (token: string): Promise<Response> => await fetch(`${forwardAuth.url}/auth/verify`, { headers: { authorization: `Bearer ${token}`, 'x-original-uri': '/reports/q3' } })
  const allowed = await verify(auditor)
  t.equal(allowed.status, 200)
  t.equal(allowed.headers.get('x-user-roles'), 'auditor')
  for (const token of [topLevel, scoped]) t.equal((await verify(token)).status, 403)
})

t.test('GET {AUTH_PREFIX}/token/validate lists the roles read through ROLES_CLAIM', async (t) => {
  const gw = await startGateway(t, { ROLES_CLAIM: 'realm_access.roles' })
  const res = await call(`${gw.url}/auth/token/validate`, { token: sign({ claims: { roles: ['x'], realm_access: { roles: ['a', 'b'] } } }) })
  t.equal(res.status, 200)
  t.same(res.body.roles, ['a', 'b'])
})
