import { SECRET_MEMBERS, SETTINGS } from './settings.js'
import type { Source } from './config-file.js'
import type { Env } from './env-reader.js'

export const REDACTED = '[redacted]'

/** A URL with its user, password, path and query hidden: the webhook's path is its token. */
function redactUrl (value: string, keepPath: boolean): string {
  try {
    const url = new URL(value)
    const credentials = url.username !== '' || url.password !== '' ? `${REDACTED}@` : ''
    return `${url.protocol}//${credentials}${url.host}${keepPath ? url.pathname : url.pathname === '/' ? '' : `/${REDACTED}`}`
  } catch {
    return REDACTED
  }
}

function redactMembers (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactMembers)
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(Object.entries(value).map(([key, member]) => [key, SECRET_MEMBERS.has(key) ? REDACTED : redactMembers(member)]))
}

/** One setting's value as it may be printed or logged. */
export function redactValue (name: string, value: string): string {
  const setting = SETTINGS.find((candidate) => candidate.name === name)
  if (setting?.secret === true) return REDACTED
  if (name === 'REDIS_URL') return redactUrl(value, true)
  if (name === 'ALERT_WEBHOOK_URL') return redactUrl(value, false)
  // id:secret pairs: the ids are shown.
  if (name === 'INTROSPECTION_CLIENTS') return value.split(',').map((item) => `${item.split(':')[0].trim()}:${REDACTED}`).join(',')
  // A PEM given inline (not a path) is a key: public, but long; shown by its first line only.
  if (name === 'JWT_PUBLIC_KEYS') return value.includes('-----BEGIN') ? '[inline PEM]' : value
  if (setting?.kind === 'document' && /^\s*[[{]/.test(value)) {
    try {
      return JSON.stringify(redactMembers(JSON.parse(value)))
    } catch {
      return REDACTED
    }
  }
  return value
}

export interface EffectiveSetting { readonly value: string, readonly from: Source }

/** Every setting that is set, redacted, with where it came from, in the order of SETTINGS. */
export function effectiveSettings (env: Env, sources: ReadonlyMap<string, Source>): Record<string, EffectiveSetting> {
  const out: Record<string, EffectiveSetting> = {}
  for (const { name } of SETTINGS) {
    const value = env[name]?.trim()
    if (value === undefined || value === '') continue
    out[name] = { value: redactValue(name, value), from: sources.get(name) ?? 'environment' }
  }
  return out
}
