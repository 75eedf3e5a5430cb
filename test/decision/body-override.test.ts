import fc from 'fast-check'
import t from 'tap'
import type { AccessRule } from '../../src/decision/access-policy.js'
import { createAccessPolicy } from '../../src/decision/access-policy.js'
import { createRuleCheck } from '../../src/decision/body-override.js'
import { ROLES, type Claims } from '../../src/tokens/claims.js'

// Issue 16 item 1: a POST whose body may carry `_method` is allowed only if
// every method an override could name would be allowed (default `body`);
// with `none` it is decided as a POST. Property over random rule sets.

const RUNS = Number(process.env.FUZZ_RUNS ?? 1000)
const RULE_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'LINK']
// What Express method-override, Rack and Symfony can turn a POST into, named by a rule or not.
const OVERRIDES = [...RULE_METHODS, 'HEAD', 'OPTIONS', 'PURGE', 'PROPFIND']
const PATHS = ['/orders', '/orders/1', '/reports/x', '/other']

const rule: fc.Arbitrary<AccessRule> = fc.record({
  methods: fc.subarray(RULE_METHODS),
  pathPrefix: fc.constantFrom('/', '/orders', '/orders/1', '/reports'),
  scopes: fc.subarray(['a', 'b']),
  roles: fc.subarray(['admin']),
  issuers: fc.constant([])
})
const claims: fc.Arbitrary<Claims> = fc.record({ scopes: fc.subarray(['a', 'b']), roles: fc.subarray(['admin']) })
  .map(({ scopes, roles }) => ({ sub: 'u', jti: 'j', iat: 1, exp: 2, scope: scopes.join(' '), [ROLES]: roles }) as unknown as Claims)

t.test('body (default): an allowed POST with a body means every method an override could name is allowed', async () => {
  fc.assert(fc.property(fc.array(rule, { maxLength: 5 }), claims, fc.constantFrom(...PATHS), (rules, who, path) => {
    const check = createRuleCheck(createAccessPolicy([], rules), 'body')
    if (check(who, 'POST', path, true) !== null) return
    for (const method of OVERRIDES) {
      if (check(who, method, path, false) !== null) throw new Error(`POST with a body allowed, ${method} refused`)
    }
  }), { numRuns: RUNS })
})

t.test('a POST without a body, any other method, and every request under none: decided as themselves', async () => {
  fc.assert(fc.property(fc.array(rule, { maxLength: 5 }), claims, fc.constantFrom(...PATHS), fc.constantFrom(...OVERRIDES), (rules, who, path, method) => {
    const policy = createAccessPolicy([], rules)
    const body = createRuleCheck(policy, 'body')
    const none = createRuleCheck(policy, 'none')
    const own = none(who, method, path, false)
    if (body(who, 'POST', path, false) !== none(who, 'POST', path, false)) throw new Error('POST without a body')
    if (none(who, method, path, true) !== own) throw new Error('none looks at the body')
    if (method !== 'POST' && body(who, method, path, true) !== own) throw new Error(`${method} with a body`)
  }), { numRuns: RUNS })
})
