import { readFileSync } from 'node:fs'

/**
 * The exit codes of every command: 0 done; 1 the command ran and failed (the gateway refused or
 * could not be reached, its configuration is invalid, an audit chain is broken, a confirmation
 * was declined); 2 the command line could not be run as written, nothing was done; 3 `admin
 * status` on a degraded gateway.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, degraded: 3 } as const

/** The command line is wrong (an unknown option, a missing argument): exit 2, before anything is done. */
export class UsageError extends Error {}

/** `tokengate --version`: package.json's version, read next to dist/ (or src/ under the tests). */
export function version (): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return `tokengate ${pkg.version}`
}

/** `--help` or `--version` anywhere before `--`: the command answers it instead of running. */
export function wants (args: readonly string[], flag: '--help' | '--version'): boolean {
  const end = args.indexOf('--')
  const head = end === -1 ? args : args.slice(0, end)
  return head.includes(flag) || (flag === '--help' && head.includes('-h'))
}
