import type { Claims } from '../tokens/claims.js'
import { satisfies, type AccessPolicy, type AccessRule } from './access-policy.js'

/** UPSTREAM_METHOD_OVERRIDE: whether the upstream may honour `_method` in a body tokengate does not read. */
export type UpstreamMethodOverride = 'body' | 'none'

/**
 * The access rule a request fails, if any. Rails (Rack::MethodOverride),
 * Laravel and Symfony (`http_method_override`), Spring's HiddenHttpMethodFilter
 * and Express `method-override` with a body getter turn a POST into the method
 * named by `_method` in its body, which tokengate never reads (proxy mode
 * streams it; forward-auth never sees it). With `UPSTREAM_METHOD_OVERRIDE=body`
 * (the default) such a POST must therefore pass the rules of every method an
 * override could name, its own first (so a refusal names its own scope); with
 * `none` the operator has declared that the upstream honours no body override,
 * and the POST is decided as a POST.
 *
 * `mayCarryBody`: proxy mode, the request has a body (Content-Length > 0 or
 * Transfer-Encoding); forward-auth, always (the body is not visible).
 */
export type RuleCheck = (claims: Claims, method: string, path: string, mayCarryBody: boolean) => AccessRule | null

export function createRuleCheck (policy: AccessPolicy, override: UpstreamMethodOverride): RuleCheck {
  const unmet = (claims: Claims, rule: AccessRule | null): AccessRule | null =>
    rule !== null && !satisfies(claims, rule) ? rule : null
  return (claims, method, path, mayCarryBody) => {
    const own = unmet(claims, policy.ruleFor(method, path))
    if (own !== null || override === 'none' || method !== 'POST' || !mayCarryBody) return own
    return policy.rulesForAnyMethod(path).find((rule) => !satisfies(claims, rule)) ?? null
  }
}
