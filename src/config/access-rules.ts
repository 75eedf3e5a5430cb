import { isFailure } from '../errors.js'
import { canonicalConfiguredPath } from '../decision/paths.js'
import type { EnvReader } from './env-reader.js'
import type { AccessRule } from '../decision/access-policy.js'

const VAR = 'ACCESS_RULES_FILE'
const EXAMPLE = '[{"method":"POST","path":"/payments","scopes":["payments:write"],"roles":["customer"],"issuers":["https://sso.example.com/realms/customers"]}]'

function stringList (value: unknown): string[] | null {
  if (value === undefined) return []
  if (typeof value === 'string') return [value]
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value
  return null
}

/**
 * Rules are JSON: method (string, list or "*"), path prefix (whole segments),
 * scopes (all required), roles (any one suffices) and issuers (the token's
 * `iss` must be one; each a trusted issuer). The longest matching prefix
 * wins, so a specific rule can loosen or tighten a broad one.
 */
export function readAccessRules (r: EnvReader, trustedIssuers: ReadonlyArray<string | null>): AccessRule[] {
  const path = r.optionalString(VAR)
  if (path === null) return []
  const text = r.file(VAR, path)
  if (text === null) return []
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    r.fail(VAR, `${path} is not JSON; expected ${EXAMPLE}`)
    return []
  }
  if (!Array.isArray(parsed)) {
    r.fail(VAR, `${path} must hold a JSON array; expected ${EXAMPLE}`)
    return []
  }
  const rules: AccessRule[] = []
  parsed.forEach((item: unknown, index) => {
    const rule = item as Record<string, unknown> | null
    const methods = stringList(rule?.method)
    const scopes = stringList(rule?.scopes)
    const roles = stringList(rule?.roles)
    const issuers = stringList(rule?.issuers)
    const prefix = rule?.path
    if (rule === null || typeof rule !== 'object' || methods === null || scopes === null || roles === null || issuers === null ||
        typeof prefix !== 'string' || !prefix.startsWith('/')) {
      r.fail(VAR, `rule ${index} in ${path} needs "path" starting with "/" and string or string-list "method", "scopes", "roles", "issuers"`)
      return
    }
    if (scopes.length === 0 && roles.length === 0 && issuers.length === 0) {
      r.fail(VAR, `rule ${index} in ${path} requires neither scopes, roles nor issuers`)
      return
    }
    // Compared exactly with each token's iss: an issuer that is not trusted would refuse every token, silently.
    const untrusted = issuers.filter((issuer) => !trustedIssuers.includes(issuer))
    if (untrusted.length > 0) {
      r.fail(VAR, `rule ${index} in ${path}: "issuers" names ${untrusted.map((i) => `"${i}"`).join(', ')}, not a trusted issuer (JWT_ISSUER or a JWT_ISSUERS entry, compared exactly)`)
      return
    }
    // In the canonical form request paths are decided on: `/v1/a%3Ab` and `/v1/a:b` are one rule.
    const canonical = canonicalConfiguredPath(prefix)
    if (isFailure(canonical)) {
      r.fail(VAR, `rule ${index} in ${path}: "path" must be a path a request could carry: ${canonical.description}`)
      return
    }
    const upper = methods.map((m) => m.toUpperCase())
    rules.push(Object.freeze({
      methods: upper.includes('*') ? [] : upper,
      pathPrefix: canonical,
      scopes,
      roles,
      issuers
    }))
  })
  return rules
}
