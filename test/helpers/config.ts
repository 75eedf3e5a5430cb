import { loadConfig } from '../../src/config/load.js'
import { ConfigError } from '../../src/errors.js'

/** Every problem loadConfig reports for this environment; empty when it loads. */
export function configProblems (env: Record<string, string>): string[] {
  try {
    loadConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems]
    throw err
  }
  return []
}
