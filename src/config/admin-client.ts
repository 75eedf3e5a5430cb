import { readFileSync } from 'node:fs'
import { ConfigError } from '../errors.js'
import { EnvReader, type Env } from './env-reader.js'

/** Where `tokengate admin` sends its requests, and with which bearer token. */
export interface AdminClientConfig {
  readonly url: URL
  readonly token: string
}

export const ADMIN_URL_DEFAULT = 'http://127.0.0.1:8080'

/**
 * The admin command's settings: TOKENGATE_URL (or --url), and the admin token
 * from TOKENGATE_ADMIN_TOKEN or the file named by TOKENGATE_ADMIN_TOKEN_FILE.
 * Never from an argument: the command line is visible to every local user (ps).
 */
export function loadAdminClientConfig (env: Env, urlFlag: string | undefined): AdminClientConfig {
  const r = new EnvReader(env)
  const rawUrl = urlFlag ?? r.string('TOKENGATE_URL', ADMIN_URL_DEFAULT)
  const source = urlFlag !== undefined ? '--url' : 'TOKENGATE_URL'
  let url: URL | null = null
  try {
    url = new URL(rawUrl)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') r.fail(source, `"${rawUrl}" is not accepted; expected an http: or https: URL`)
  } catch {
    r.fail(source, `"${rawUrl}" is not a URL; expected one such as ${ADMIN_URL_DEFAULT}`)
  }
  const token = readToken(r)
  if (r.problems.length > 0 || url === null || token === null) throw new ConfigError(r.problems)
  return { url, token }
}

function readToken (r: EnvReader): string | null {
  const inline = r.optionalString('TOKENGATE_ADMIN_TOKEN')
  const file = r.optionalString('TOKENGATE_ADMIN_TOKEN_FILE')
  if (inline !== null && file !== null) {
    r.fail('TOKENGATE_ADMIN_TOKEN_FILE', 'set either TOKENGATE_ADMIN_TOKEN or TOKENGATE_ADMIN_TOKEN_FILE, not both')
    return null
  }
  if (file !== null) {
    let text: string
    try {
      text = readFileSync(file, 'utf8').trim()
    } catch (err) {
      r.fail('TOKENGATE_ADMIN_TOKEN_FILE', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`)
      return null
    }
    if (text === '') r.fail('TOKENGATE_ADMIN_TOKEN_FILE', `${file} is empty`)
    return text === '' ? null : text
  }
  if (inline === null) r.fail('TOKENGATE_ADMIN_TOKEN', 'required: a bearer token granting ADMIN_ROLE (or TOKENGATE_ADMIN_TOKEN_FILE naming a file that holds one)')
  return inline
}
