import type { Claims } from '../tokens/claims.js'
import { rolesOf, scopesOf } from '../tokens/claims.js'
import { underPrefix } from './paths.js'
import { foldCase } from './unicode.js'

export interface AccessRule {
  /** Upper-case methods; empty = any method. */
  readonly methods: readonly string[]
  readonly pathPrefix: string
  /** Every listed scope is required. */
  readonly scopes: readonly string[]
  /** Any one listed role suffices. */
  readonly roles: readonly string[]
  /** The token's `iss` must be one of these ('' for a token without one); empty = any trusted issuer. */
  readonly issuers: readonly string[]
}

/** Both take the canonical path (canonicalPath), the one the upstream acts on. */
export interface AccessPolicy {
  /** Public paths match letter for letter: `/Public` is not public (a public path may match less, never more). */
  isPublic: (path: string) => boolean
  /**
   * The rule for a request: the longest matching prefix. Rules ignore letter
   * case as case-insensitive upstreams do (foldCase: `/ADMIN` is `/admin`; a
   * character whose case mapping reaches ASCII never gets here), and a rule for
   * GET also covers HEAD (servers answer HEAD with the GET handler): a rule
   * may match more, never less.
   */
  ruleFor: (method: string, path: string) => AccessRule | null
  /**
   * The rules `path` gets under every method a method override could name:
   * each method some rule names, and any other (whose rules are the `"*"` ones).
   */
  rulesForAnyMethod: (path: string) => readonly AccessRule[]
}

// Named by no rule (a method is a token: never empty), so only rules for every method match it.
const UNNAMED_METHOD = ''

function methodsOf (rule: AccessRule): readonly string[] {
  return rule.methods.includes('GET') && !rule.methods.includes('HEAD') ? [...rule.methods, 'HEAD'] : rule.methods
}

export function createAccessPolicy (publicPaths: readonly string[], rules: readonly AccessRule[]): AccessPolicy {
  const ordered = [...rules]
    .map((rule) => ({ rule, methods: methodsOf(rule), prefix: foldCase(rule.pathPrefix) }))
    .sort((a, b) => b.prefix.length - a.prefix.length)
  const named = [...new Set([...ordered.flatMap(({ methods }) => methods), UNNAMED_METHOD])]
  function ruleFor (method: string, path: string): AccessRule | null {
    if (ordered.length === 0) return null
    const folded = foldCase(path)
    return ordered.find(({ methods, prefix }) => underPrefix(folded, prefix) &&
      (methods.length === 0 || methods.includes(method)))?.rule ?? null
  }
  return {
    isPublic: (path) => publicPaths.length > 0 && publicPaths.some((prefix) => underPrefix(path, prefix)),
    ruleFor,
    rulesForAnyMethod (path) {
      if (ordered.length === 0) return []
      const rules = new Set<AccessRule>()
      for (const method of named) {
        const rule = ruleFor(method, path)
        if (rule !== null) rules.add(rule)
      }
      return [...rules]
    }
  }
}

/** All required scopes, and one of the roles when roles are listed. */
export function satisfies (claims: Claims, rule: AccessRule): boolean {
  // A partner issuer's token must not pass a rule written for the customers' issuer on its roles alone.
  if (rule.issuers.length > 0 && !rule.issuers.includes(claims.iss ?? '')) return false
  if (rule.scopes.length > 0) {
    const scopes = scopesOf(claims)
    if (!rule.scopes.every((scope) => scopes.includes(scope))) return false
  }
  if (rule.roles.length > 0) {
    const roles = rolesOf(claims)
    if (!rule.roles.some((role) => roles.includes(role))) return false
  }
  return true
}
