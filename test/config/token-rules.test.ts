import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { configProblems } from '../helpers/config.js'
import { keyPair, SECRET } from '../helpers/tokens.js'

const BASE = { JWT_SECRET: SECRET }

t.test('ROLES_CLAIM: default roles,role; dot paths, several, \\. for a dot in a name', async (t) => {
  t.same(loadConfig(BASE).jwt.issuers[0].rolesClaim, [['roles'], ['role']])
  t.same(loadConfig({ ...BASE, ROLES_CLAIM: 'realm_access.roles, resource_access.api.roles' }).jwt.issuers[0].rolesClaim,
    [['realm_access', 'roles'], ['resource_access', 'api', 'roles']])
  t.same(loadConfig({ ...BASE, ROLES_CLAIM: 'https://example\\.com/roles' }).jwt.issuers[0].rolesClaim, [['https://example.com/roles']])
  for (const bad of ['realm_access.', '.roles', 'a..b', 'a.b.c.d.e.f.g.h.i']) {
    t.match(configProblems({ ...BASE, ROLES_CLAIM: bad }), [/^ROLES_CLAIM: /], bad)
  }
})

t.test('JWT_REQUIRED_TYP: unset by default; stored lower-case without application/', async (t) => {
  t.equal(loadConfig(BASE).jwt.requiredTyp, null)
  t.equal(loadConfig({ ...BASE, JWT_REQUIRED_TYP: 'Application/AT+JWT' }).jwt.requiredTyp, 'at+jwt')
  t.match(configProblems({ ...BASE, JWT_REQUIRED_TYP: 'at jwt' }), [/^JWT_REQUIRED_TYP: /])
})

t.test('JWT_ALGORITHMS: EdDSA implies RFC 9864 Ed25519; Ed25519 alone cannot sign with JWT_PRIVATE_KEY', async (t) => {
  const ed = keyPair('ed25519')
  const env = { JWT_SECRET: '', JWT_PUBLIC_KEYS: ed.publicPem.replaceAll('\n', '\\n') }
  t.same(loadConfig({ ...env, JWT_ALGORITHMS: 'EdDSA' }).jwt.algorithms, ['EdDSA', 'Ed25519'])
  t.same(loadConfig({ ...env, JWT_ALGORITHMS: 'Ed25519' }).jwt.algorithms, ['Ed25519'])
  const signing = loadConfig({ ...env, JWT_ALGORITHMS: 'EdDSA', JWT_PRIVATE_KEY: ed.privatePem.replaceAll('\n', '\\n') }).jwt.signing
  t.equal(signing?.algorithm, 'EdDSA', 'fast-jwt signs Ed25519 keys as EdDSA')
  t.match(configProblems({ ...env, JWT_ALGORITHMS: 'Ed25519', JWT_PRIVATE_KEY: ed.privatePem.replaceAll('\n', '\\n') }), [/^JWT_PRIVATE_KEY: .*add EdDSA/])
})
