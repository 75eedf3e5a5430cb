import type { AccessRule } from '../config/types.js'
import type { Claims } from '../tokens/claims.js'
import { rolesOf, scopesOf } from '../tokens/claims.js'
import { collapseSlashes, underPrefix } from './paths.js'

export interface AccessPolicy {
  /** Public paths match the raw path exactly as sent: `//public` is not public. */
  isPublic: (path: string) => boolean
  /** The rule for a request: the longest matching prefix; rules see collapsed slashes so `//admin` is `/admin`. */
  ruleFor: (method: string, path: string) => AccessRule | null
}

export function createAccessPolicy (publicPaths: readonly string[], rules: readonly AccessRule[]): AccessPolicy {
  const ordered = [...rules].sort((a, b) => b.pathPrefix.length - a.pathPrefix.length)
  return {
    isPublic: (path) => publicPaths.length > 0 && publicPaths.some((prefix) => underPrefix(path, prefix)),
    ruleFor (method, path) {
      if (ordered.length === 0) return null
      const normalised = collapseSlashes(path)
      return ordered.find((rule) => underPrefix(normalised, rule.pathPrefix) &&
        (rule.methods.length === 0 || rule.methods.includes(method))) ?? null
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
