import { loadConfig } from '../config/load.js'
import { configFileSchema } from '../config/settings.js'
import { ConfigError } from '../errors.js'
import type { CommandIo } from './io.js'

export const CONFIG_USAGE = `usage:
  tokengate config check FILE    validate FILE (YAML or JSON) with this environment over it, without starting;
                                 print the effective configuration, secrets redacted (exit 0 valid, 1 invalid)
  tokengate config schema        print the file's JSON Schema (docs/tokengate-config.schema.json)`

/**
 * `tokengate config check FILE`: what `serve` would read with TOKENGATE_CONFIG=FILE and this
 * environment, checked without starting (nothing is fetched: issuer discovery runs at start).
 */
export function configCommand (args: readonly string[], io: CommandIo): number {
  const [sub, ...rest] = args
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    io.out(CONFIG_USAGE)
    return 0
  }
  if (sub === 'schema' && rest.length === 0) {
    io.out(JSON.stringify(configFileSchema(), null, 2))
    return 0
  }
  if (sub !== 'check' || rest.length !== 1 || rest[0].startsWith('-')) {
    io.err(`tokengate config: expected "check FILE" or "schema"\n${CONFIG_USAGE}`)
    return 2
  }
  const file = rest[0]
  try {
    const config = loadConfig({ ...io.env, TOKENGATE_CONFIG: file })
    io.out(`${file}: valid; the effective configuration (secrets redacted; "environment" overrides the file):`)
    for (const [name, { value, from }] of Object.entries(config.source.effective)) io.out(`  ${name}=${value}    # ${from}`)
    return 0
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    io.err(`${file}: invalid; ${err.problems.length} problem${err.problems.length === 1 ? '' : 's'}:`)
    for (const problem of err.problems) io.err(`  ${problem}`)
    return 1
  }
}
