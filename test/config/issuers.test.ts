import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import t from 'tap'
import { stringify } from 'yaml'
import { ISSUERS_SCHEMA } from '../../src/config/issuers-schema.js'
import { loadConfig } from '../../src/config/load.js'
import { configProblems } from '../helpers/config.js'
import { tempFile } from '../helpers/temp-dir.js'

const KEYCLOAK = {
  issuer: 'https://sso.example.com/realms/customers',
  discovery: true,
  audience: ['orders-api', 'account'],
  algorithms: ['RS256', 'ES256'],
  roles_claim: 'realm_access.roles',
  grants_admin: true
}
const inline = (...entries: unknown[]): Record<string, string> => ({ NODE_ENV: 'test', JWT_ISSUERS: JSON.stringify(entries) })
const problemsOf = (env: Record<string, string>): string[] => configProblems(env)

t.test('JWT_ISSUERS inline: one typed entry, mirrored in the fields the verifier reads today', async (t) => {
  const { jwt, adminRole } = loadConfig(inline(KEYCLOAK))
  t.equal(jwt.issuers.length, 1)
  const [entry] = jwt.issuers
  t.equal(entry.issuer, KEYCLOAK.issuer)
  t.equal(entry.jwksUrl, null, 'discovered at start-up')
  t.equal(entry.discoveryUrl?.href, 'https://sso.example.com/realms/customers/.well-known/openid-configuration', 'OIDC Discovery §4: issuer + /.well-known/openid-configuration')
  t.same(entry.audiences, ['orders-api', 'account'])
  t.same(entry.algorithms, ['RS256', 'ES256'])
  t.same(entry.rolesClaim, [['realm_access', 'roles']])
  t.equal(entry.sessionClaim, 'sid')
  t.equal(entry.jtiClaim, 'jti')
  t.equal(entry.grantsAdmin, true)
  t.equal(jwt.issuer, KEYCLOAK.issuer)
  t.same(jwt.audience, ['orders-api', 'account'])
  t.same(jwt.algorithms, ['RS256', 'ES256'], 'no HS256 unless JWT_ALGORITHMS names it')
  t.equal(jwt.secret, null)
  t.equal(jwt.ephemeral, false, 'an identity provider is key material: no development key is made up')
  t.equal(adminRole, 'admin')
})

t.test('JWT_ISSUERS entry defaults: RS256, roles/role, sid, jti, and no admin role', async (t) => {
  const { jwt, adminRole } = loadConfig(inline({ issuer: 'https://idp.example.com', jwks_uri: 'https://idp.example.com/keys', audience: 'api' }))
  const [entry] = jwt.issuers
  t.equal(entry.jwksUrl?.href, 'https://idp.example.com/keys')
  t.equal(entry.discoveryUrl, null)
  t.same(entry.algorithms, ['RS256'])
  t.same(entry.rolesClaim, [['roles'], ['role']])
  t.equal(entry.grantsAdmin, false)
  t.equal(adminRole, null, 'no issuer may grant ADMIN_ROLE: every admin request is refused')
  t.equal(loadConfig(inline({ issuer: 'https://idp.example.com', discovery: true, audience: 'api', session_claim: null, jti_claim: 'jti' })).jwt.issuers[0].sessionClaim, null, 'an issuer without sessions (Cognito)')
})

t.test('claim names per issuer: a token-id claim, none (the token hash), a session claim', async (t) => {
  const [named, hashed] = loadConfig(inline(
    { issuer: 'https://a.example.com', discovery: true, audience: 'api', jti_claim: 'uti', session_claim: 'session_id' },
    { issuer: 'https://b.example.com', discovery: true, audience: 'api', jti_claim: null }
  )).jwt.issuers
  t.same([named.jtiClaim, named.sessionClaim], ['uti', 'session_id'])
  t.same([hashed.jtiClaim, hashed.sessionClaim], [null, 'sid'])
})

t.test('RFC 8414 §3.1: "oauth-authorization-server" inserts the well-known path before the issuer\'s path', async (t) => {
  const discovery = (issuer: string): string | undefined =>
    loadConfig(inline({ issuer, discovery: 'oauth-authorization-server', audience: 'api' })).jwt.issuers[0].discoveryUrl?.href
  t.equal(discovery('https://idp.example.com/tenant/1'), 'https://idp.example.com/.well-known/oauth-authorization-server/tenant/1')
  t.equal(discovery('https://idp.example.com/tenant/1/'), 'https://idp.example.com/.well-known/oauth-authorization-server/tenant/1', 'a terminating / is removed first')
  t.equal(discovery('https://idp.example.com'), 'https://idp.example.com/.well-known/oauth-authorization-server')
  t.equal(loadConfig(inline({ issuer: 'https://idp.example.com/', discovery: true, audience: 'api' })).jwt.issuers[0].discoveryUrl?.href,
    'https://idp.example.com/.well-known/openid-configuration', 'OIDC Discovery §4: a trailing / is removed before appending')
  t.equal(loadConfig(inline({ issuer: 'https://idp.example.com', discovery: 'https://meta.example.com/idp.json', audience: 'api' })).jwt.issuers[0].discoveryUrl?.href,
    'https://meta.example.com/idp.json', 'an explicit metadata URL')
})

t.test('JWT_ISSUERS from a YAML or JSON file: the same list', async (t) => {
  const yaml = tempFile(t, 'issuers.yaml', stringify([KEYCLOAK]))
  const yml = tempFile(t, 'issuers.yml', stringify([KEYCLOAK]))
  const json = tempFile(t, 'issuers.json', JSON.stringify([KEYCLOAK]))
  const expected = loadConfig(inline(KEYCLOAK)).jwt.issuers
  for (const file of [yaml, yml, json]) t.same(loadConfig({ NODE_ENV: 'test', JWT_ISSUERS: file }).jwt.issuers, expected, file)
  t.match(problemsOf({ JWT_ISSUERS: tempFile(t, 'issuers.txt', '[]') }), [/^JWT_ISSUERS: ".*issuers\.txt" is neither inline JSON/])
  t.match(problemsOf({ JWT_ISSUERS: join(tempFile(t, 'x', ''), '..', 'missing.yaml') }), [/^JWT_ISSUERS: cannot read .*missing\.yaml \(ENOENT\)/])
  t.match(problemsOf({ JWT_ISSUERS: tempFile(t, 'bad.yaml', 'issuer: [unclosed') }), [/^JWT_ISSUERS: .*bad\.yaml does not parse as YAML/])
  t.match(problemsOf({ JWT_ISSUERS: '[{"issuer": ' }), [/^JWT_ISSUERS: inline JSON does not parse/])
})

t.test('the schema refuses unknown keys and wrong types, naming every problem at once with JWT_ISSUERS and the entry index and key', async (t) => {
  const problems = problemsOf(inline(
    { issuer: 'https://a.example.com', jwks_uri: 'https://a.example.com/keys', audience: 'api', grant_admin: true },
    { issuer: 'https://b.example.com', discovery: 'sometimes', audience: [], algorithms: ['HS256', 'none'] },
    { jwks_uri: 'https://c.example.com/keys', session_claim: 7 },
    { issuer: 'https://d.example.com', discovery: true, audience: 'api', roles_claim: 'realm_access..roles' }
  ))
  t.match(problems, [
    /^JWT_ISSUERS: \[0\]\.grant_admin: unknown key; expected some of issuer, jwks_uri, discovery, audience, algorithms, roles_claim, session_claim, jti_claim, grants_admin, backchannel_logout, global_token_revocation$/,
    /^JWT_ISSUERS: \[1\]\.discovery: must be true .*"oauth-authorization-server".*or the metadata URL itself$/,
    /^JWT_ISSUERS: \[1\]\.audience: must be the aud its tokens must carry/,
    /^JWT_ISSUERS: \[1\]\.algorithms\[0\]: must be one of RS256, .*Ed25519$/,
    /^JWT_ISSUERS: \[1\]\.algorithms\[1\]: must be one of RS256/,
    /^JWT_ISSUERS: \[2\]\.issuer: required$/,
    /^JWT_ISSUERS: \[2\]\.audience: required$/,
    /^JWT_ISSUERS: \[2\]\.session_claim: must be the claim naming its session/,
    /^JWT_ISSUERS: \[3\]\.roles_claim: "realm_access\.\.roles" is not a dot path/
  ])
  t.equal(problems.length, 9, problems.join('\n'))
  t.match(problemsOf(inline()), ['JWT_ISSUERS: an empty list trusts no issuer; list at least one'])
  t.match(problemsOf({ JWT_ISSUERS: '{"issuer": "https://a.example.com"}' }), ['JWT_ISSUERS: must be a list (a JSON or YAML array) of issuer entries'])
})

t.test('an entry needs exactly one of jwks_uri and discovery', async (t) => {
  t.match(problemsOf(inline({ issuer: 'https://a.example.com', audience: 'api' })), ['JWT_ISSUERS: [0]: needs jwks_uri or discovery (where its keys are)'])
  t.match(problemsOf(inline({ issuer: 'https://a.example.com', audience: 'api', discovery: false })), ['JWT_ISSUERS: [0]: needs jwks_uri or discovery (where its keys are)'])
  t.match(problemsOf(inline({ issuer: 'https://a.example.com', audience: 'api', discovery: true, jwks_uri: 'https://a.example.com/k' })), ['JWT_ISSUERS: [0]: both jwks_uri and discovery are set; choose one'])
  t.same(problemsOf(inline({ issuer: 'https://a.example.com', audience: 'api', discovery: false, jwks_uri: 'https://a.example.com/k' })), [])
})

t.test('a duplicate issuer is refused; a trailing / makes another issuer (OIDC Discovery §4.3, RFC 8414 §3.3)', async (t) => {
  const a = { issuer: 'https://a.example.com', discovery: true, audience: 'api' }
  const problems = problemsOf(inline(a, { ...a, audience: 'other' }, { ...a, issuer: 'https://a.example.com/' }))
  t.ok(problems.includes('JWT_ISSUERS: [1].issuer: "https://a.example.com" is also entry [0]; list each issuer once'), problems.join('\n'))
  t.notOk(problems.some((p) => p.startsWith('JWT_ISSUERS: [2].issuer')), 'https://a.example.com/ is not https://a.example.com')
})

t.test('issuer, jwks_uri and a discovery URL must be https unless NODE_ENV=development', async (t) => {
  const entries = [
    { issuer: 'http://idp.local', discovery: true, audience: 'api' },
    { issuer: 'https://idp.example.com', jwks_uri: 'http://idp.example.com/keys', audience: 'api' },
    { issuer: 'https://idp.example.com', discovery: 'http://idp.example.com/meta', audience: 'api' },
    { issuer: 'https://idp.example.com?tenant=1', jwks_uri: 'https://idp.example.com/keys', audience: 'api' }
  ]
  t.match(problemsOf(inline(entries[0])), [/^JWT_ISSUERS: \[0\]\.issuer: http: is not accepted; expected https: \(http: only with NODE_ENV=development\)/])
  t.match(problemsOf(inline(entries[1])), [/^JWT_ISSUERS: \[0\]\.jwks_uri: http: is not accepted/])
  t.match(problemsOf(inline(entries[2])), [/^JWT_ISSUERS: \[0\]\.discovery: http: is not accepted/])
  // One reader for every endpoint, as SSF_TRANSMITTERS's: a URL carrying credentials would be logged with them.
  t.match(problemsOf(inline({ issuer: 'https://idp.example.com', jwks_uri: 'https://user:pw@idp.example.com/keys', audience: 'api' })), [/^JWT_ISSUERS: \[0\]\.jwks_uri: credentials in the URL are not accepted/])
  t.match(problemsOf(inline(entries[3])), [/^JWT_ISSUERS: \[0\]\.issuer: ".*" has a query or fragment/])
  for (const entry of entries.slice(0, 3)) t.same(problemsOf({ ...inline(entry), NODE_ENV: 'development' }), [], `development: ${JSON.stringify(entry)}`)
})

t.test('JWT_ISSUERS together with a single-issuer variable stops start-up naming both', async (t) => {
  const one = inline({ issuer: 'https://a.example.com', discovery: true, audience: 'api' })
  for (const name of ['JWT_ISSUER', 'JWT_AUDIENCE', 'JWKS_URL', 'ROLES_CLAIM']) {
    const value = name === 'JWKS_URL' ? 'https://a.example.com/keys' : 'x'
    t.match(problemsOf({ ...one, [name]: value }), [new RegExp(`^JWT_ISSUERS: set together with ${name}: the single-issuer variables`)], name)
  }
  t.match(problemsOf({ ...one, JWT_ISSUER: 'x', JWKS_URL: 'https://a.example.com/keys' }), ['JWT_ISSUERS: set together with JWT_ISSUER, JWKS_URL: the single-issuer variables describe one issuer, JWT_ISSUERS a list; move them into its entries'])
})

t.test('JWT_ALGORITHMS and JWT_SECRET with JWT_ISSUERS are tokengate\'s own key, beside the issuer\'s', async (t) => {
  const one = inline({ issuer: 'https://a.example.com', discovery: true, audience: 'api' })
  const { jwt } = loadConfig({ ...one, JWT_ALGORITHMS: 'HS256', JWT_SECRET: 'a-secret-that-is-at-least-32-bytes-long' })
  t.same(jwt.algorithms, ['HS256', 'RS256'])
  t.equal(jwt.signing?.algorithm, 'HS256')
  t.match(problemsOf({ ...one, JWT_SECRET: 'a-secret-that-is-at-least-32-bytes-long' }), ['JWT_SECRET: set, but JWT_ALGORITHMS allows no HS* algorithm'])
})

t.test('a comma or whitespace in JWT_ISSUER stops start-up naming it (it used to start and refuse every token)', async (t) => {
  for (const value of ['https://a.example.com,https://b.example.com', 'https://a.example.com https://b.example.com', 'a\tb']) {
    t.match(problemsOf({ JWT_SECRET: 'a-secret-that-is-at-least-32-bytes-long', JWT_ISSUER: value }), [/^JWT_ISSUER: ".*" holds a comma or whitespace: it names one issuer.*list several in JWT_ISSUERS$/], value)
  }
})

t.test('the single-issuer variables are a list of one with today\'s behaviour', async (t) => {
  const { jwt, adminRole } = loadConfig({
    JWT_SECRET: '', JWT_ALGORITHMS: 'RS256', JWKS_URL: 'http://idp.internal/keys', JWT_ISSUER: 'https://idp.example.com', JWT_AUDIENCE: 'api', ROLES_CLAIM: 'realm_access.roles'
  })
  t.same(jwt.issuers.map((entry) => ({ ...entry, jwksUrl: entry.jwksUrl?.href })), [{
    issuer: 'https://idp.example.com',
    jwksUrl: 'http://idp.internal/keys',
    discoveryUrl: null,
    audiences: ['api'],
    algorithms: ['RS256'],
    rolesClaim: [['realm_access', 'roles']],
    sessionClaim: 'sid',
    jtiClaim: 'jti',
    grantsAdmin: true,
    backchannelLogout: null,
    globalTokenRevocation: null
  }], 'JWKS_URL keeps accepting http: as before')
  t.equal(jwt.audience, 'api')
  t.equal(adminRole, 'admin')
  const bare = loadConfig({ JWT_SECRET: 'a-secret-that-is-at-least-32-bytes-long' }).jwt.issuers
  t.same([bare[0].issuer, bare[0].audiences, bare[0].jwksUrl], [null, [], null], 'iss and aud unchecked when unset, as today')
})

t.test('docs/issuers.schema.json is the schema the configuration validates with', async (t) => {
  const published = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../docs/issuers.schema.json'), 'utf8'))
  t.same(published, ISSUERS_SCHEMA)
})

t.test('"*" names no issuer: revocation marks of every issuer are written under it', async (t) => {
  t.match(problemsOf({ JWT_SECRET: 'a-secret-that-is-at-least-32-bytes-long', JWT_ISSUER: '*' }).join('\n'), /JWT_ISSUER: "\*" is reserved/)
  const problems = problemsOf({ JWT_ISSUERS: JSON.stringify([{ issuer: '*', jwks_uri: 'https://idp.example/jwks', audience: 'api' }]) })
  t.match(problems.join('\n'), /JWT_ISSUERS: \[0\]\.issuer/, 'refused in a list too (naming the entry)')
})
