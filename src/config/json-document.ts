import { extname } from 'node:path'
import type { ErrorObject } from 'ajv'
import { parse as parseYaml } from 'yaml'
import type { EnvReader } from './env-reader.js'

/** A list variable's document: inline JSON, or the path of a .json, .yaml or .yml file; undefined after a named problem. */
export function readDocument (r: EnvReader, name: string, value: string): unknown {
  if (value.startsWith('[') || value.startsWith('{')) {
    try {
      return JSON.parse(value)
    } catch (err) {
      // The parser's message names a position, never the secrets the document may hold.
      r.fail(name, `inline JSON does not parse (${(err as Error).message.split('\n')[0].slice(0, 120)})`)
      return undefined
    }
  }
  const extension = extname(value).toLowerCase()
  if (!['.json', '.yaml', '.yml'].includes(extension)) {
    // A path is named; anything else (a mangled inline value may hold secrets) is not echoed.
    const shown = /^[\w./~-]{1,256}$/.test(value) ? `"${value}" ` : ''
    r.fail(name, `${shown}is neither inline JSON (starting with [) nor the path of a .json, .yaml or .yml file`)
    return undefined
  }
  const text = r.file(name, value)
  if (text === null) return undefined
  try {
    return extension === '.json' ? JSON.parse(text) : parseYaml(text)
  } catch (err) {
    r.fail(name, `${value} does not parse as ${extension === '.json' ? 'JSON' : 'YAML'} (${(err as Error).message.split('\n')[0].slice(0, 120)})`)
    return undefined
  }
}

/** `/0/delivery/push` as `[0].delivery.push`. */
export function where (instancePath: string): string {
  return instancePath.split('/').slice(1)
    .map((part) => /^\d+$/.test(part) ? `[${part}]` : `.${part.replaceAll('~1', '/').replaceAll('~0', '~')}`)
    .join('').replace(/^\./, '')
}

/** How a list variable's problems name the list: `issuer entries`; what an empty one means. */
export interface ListWords { readonly entries: string, readonly empty: string }

function describe (error: ErrorObject, words: ListWords): string {
  const at = where(error.instancePath)
  const prefix = at === '' ? '' : `${at}: `
  if (at === '' && error.keyword === 'type') return `must be a list (a JSON or YAML array) of ${words.entries}`
  if (at === '' && error.keyword === 'minItems') return words.empty
  switch (error.keyword) {
    case 'additionalProperties': {
      const known = Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {}).join(', ')
      return `${at === '' ? '' : `${at}.`}${String(error.params.additionalProperty)}: unknown key; expected some of ${known}`
    }
    case 'required':
      return `${at === '' ? '' : `${at}.`}${String(error.params.missingProperty)}: required`
    case 'anyOf':
      return `${prefix}must be ${String((error.parentSchema as { description?: string } | undefined)?.description ?? 'of another form')}`
    case 'enum':
      return `${prefix}must be one of ${(error.params.allowedValues as unknown[]).join(', ')}`
    default:
      // Never the value itself: entries hold secrets.
      return `${prefix}${error.message ?? 'invalid'}`
  }
}

/**
 * Schema problems (validated with allErrors and verbose), one per place: the branches of an
 * `anyOf` that failed are summed up by the anyOf's own description. Returns the indices of the
 * entries that have a problem (-1: the list itself).
 */
export function reportSchema (r: EnvReader, name: string, errors: readonly ErrorObject[], words: ListWords): Set<number> {
  const anyOfAt = errors.filter((error) => error.keyword === 'anyOf').map((error) => error.instancePath)
  const broken = new Set<number>()
  for (const error of errors) {
    const inAnyOf = anyOfAt.some((path) => error.keyword !== 'anyOf' && (error.instancePath === path || error.instancePath.startsWith(`${path}/`)))
    if (inAnyOf) continue
    r.fail(name, describe(error, words))
    const index = /^\/(\d+)/.exec(error.instancePath)
    broken.add(index === null ? -1 : Number(index[1]))
  }
  return broken
}

/**
 * An endpoint tokengate fetches or posts to (JWKS, metadata, token and poll endpoints, relays):
 * https (http only with NODE_ENV=development: whoever can alter keys fetched in clear can mint
 * tokens), and no credentials in the URL, which would be logged with it. The value is echoed:
 * these are endpoints, not secrets.
 */
export function endpointUrl (r: EnvReader, name: string, at: string, value: string, allowHttp: boolean): URL | null {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    r.fail(name, `${at}: "${value.slice(0, 200)}" is not a URL`)
    return null
  }
  if (url.protocol !== 'https:' && !(allowHttp && url.protocol === 'http:')) {
    r.fail(name, `${at}: ${url.protocol} is not accepted; expected https: (http: only with NODE_ENV=development)`)
    return null
  }
  if (url.username !== '' || url.password !== '') {
    r.fail(name, `${at}: credentials in the URL are not accepted`)
    return null
  }
  return url
}
