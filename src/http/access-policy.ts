import type { AccessRule } from '../config/types.js'
import type { Claims } from '../tokens/claims.js'
import { rolesOf, scopesOf } from '../tokens/claims.js'
import { collapseSlashes, underPrefix } from './paths.js'

export interface AccessPolicy {
  /** Public paths match the raw path exactly as sent: `//public` is not public. */
  isPublic: (path: string) => boolean
  /**
   * The rule for a request: the longest matching prefix. Rules see collapsed
   * slashes (`//admin` is `/admin`) and ignore letter case (`/ADMIN` is
   * `/admin` to a case-insensitive upstream): a rule may match more, never less.
   */
  ruleFor: (method: string, path: string) => AccessRule | null
}

export function createAccessPolicy (publicPaths: readonly string[], rules: readonly AccessRule[]): AccessPolicy {
  const ordered = [...rules]
    .map((rule) => ({ rule, prefix: rule.pathPrefix.toLowerCase() }))
    .sort((a, b) => b.prefix.length - a.prefix.length)
  return {
    isPublic: (path) => publicPaths.length > 0 && publicPaths.some((prefix) => underPrefix(path, prefix)),
    ruleFor (method, path) {
      if (ordered.length === 0) return null
      const normalised = collapseSlashes(path).toLowerCase()
      return ordered.find(({ rule, prefix }) => underPrefix(normalised, prefix) &&
        (rule.methods.length === 0 || rule.methods.includes(method)))?.rule ?? null
    }
  }
}

/** All required scopes, and one of the roles when roles are listed. */
export function satisfies (claims: Claims, rule: AccessRule): boolean {
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
