import { extname } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { isFailure } from '../errors.js'
import { canonicalConfiguredPath } from '../decision/paths.js'
import type { EnvReader } from './env-reader.js'
import type { AccessRule } from '../decision/access-policy.js'

const FILE_VAR = 'ACCESS_RULES_FILE'
const INLINE_VAR = 'ACCESS_RULES'
const EXAMPLE = '[{"method":"POST","path":"/payments","scopes":["payments:write"],"roles":["customer"],"issuers":["https://sso.example.com/realms/customers"]}]'

function stringList (value: unknown): string[] | null {
  if (value === undefined) return []
  if (typeof value === 'string') return [value]
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value
  return null
}

/** The rules document: ACCESS_RULES inline (JSON; a list in the configuration file), or ACCESS_RULES_FILE (YAML by a .yaml or .yml name, else JSON). */
function readRulesDocument (r: EnvReader): { parsed: unknown, VAR: string, path: string } | null {
  const inline = r.raw(INLINE_VAR)
  const file = r.optionalString(FILE_VAR)
  if (inline !== undefined && file !== null) {
    r.fail(INLINE_VAR, `set together with ${FILE_VAR}; choose one`)
    return null
  }
  if (inline === undefined && file === null) return null
  const VAR = inline === undefined ? FILE_VAR : INLINE_VAR
  const path = file ?? INLINE_VAR
  const text = inline ?? r.file(VAR, path)
  if (text === null) return null
  const yaml = inline === undefined && ['.yaml', '.yml'].includes(extname(path).toLowerCase())
  try {
    return { parsed: yaml ? parseYaml(text) : JSON.parse(text), VAR, path }
  } catch {
    r.fail(VAR, `${path} is not ${yaml ? 'YAML' : 'JSON'}; expected ${EXAMPLE}`)
    return null
  }
}

/**
 * Rules: method (string, list or "*"), path prefix (whole segments),
 * scopes (all required), roles (any one suffices) and issuers (the token's
 * `iss` must be one; each a trusted issuer). The longest matching prefix
 * wins, so a specific rule can loosen or tighten a broad one.
 */
export function readAccessRules (r: EnvReader, trustedIssuers: ReadonlyArray<string | null>): AccessRule[] {
  const document = readRulesDocument(r)
  if (document === null) return []
  const { parsed, VAR, path } = document
  if (!Array.isArray(parsed)) {
    r.fail(VAR, `${path} must hold a list; expected ${EXAMPLE}`)
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
