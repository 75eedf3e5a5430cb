import type { CommandIo } from './io.js'
import { tokenCommand, TOKEN_USAGE } from './token.js'
import { EXIT, UsageError, version, wants } from './usage.js'

export const USAGE = `usage:
  tokengate [serve]                                  run the gateway (configuration from the environment)
  tokengate token --sub ID [--ttl 15m] [--refresh] [--sid SID] [--claims JSON]
                                                     mint a token with the configured key
  tokengate audit verify FILE...                     check a hash-chained audit log (rotated files oldest first)
  tokengate config check FILE                        validate a configuration file without starting
  tokengate config schema                            print the configuration file's JSON Schema
  tokengate admin COMMAND [--json]                   incident response against a running gateway
                                                     (status, alerts, revoke-user, revoke-all, revoke-token)
Every command takes --help and --version. Exit codes: 0 done; 1 failed (the gateway refused or
is unreachable, bad configuration, a broken audit chain); 2 a command line that cannot run as
written (nothing was done); 3 admin status on a degraded gateway.`

export const SERVE_USAGE = `usage: tokengate [serve]
Runs the gateway. It takes no arguments: the configuration comes from the environment
(docs/configuration.md); a bad value stops start-up naming the variable (exit 1).
Without a key it runs the development instance on 127.0.0.1 (HOST overrides).`

async function dispatch (argv: readonly string[], io: CommandIo): Promise<number> {
  const [command = 'serve', ...rest] = argv
  switch (command) {
    case 'serve': {
      if (wants(rest, '--help')) return help(io, SERVE_USAGE)
      if (rest.length > 0) throw new UsageError(`serve takes no arguments (got "${rest[0]}"): configure it with environment variables\n${SERVE_USAGE}`)
      // Loaded only to serve: the other commands start in a third of the CPU without the app.
      const { serve } = await import('../serve.js')
      await serve(io.env)
      return EXIT.ok
    }
    case 'token':
      if (wants(rest, '--help')) return help(io, TOKEN_USAGE)
      return tokenCommand(rest, io)
    case 'audit': {
      const { auditCommand } = await import('../security/audit-cli.js')
      return await auditCommand(rest, io)
    }
    case 'config': {
      const { configCommand } = await import('./config.js')
      return configCommand(rest, io)
    }
    case 'admin': {
      const { adminCommand } = await import('./admin.js')
      return await adminCommand(rest, io)
    }
    case '-h':
    case '--help':
    case 'help':
      return help(io, USAGE)
    default:
      throw new UsageError(`unknown command "${command}"\n${USAGE}`)
  }
}

function help (io: CommandIo, usage: string): number {
  io.out(usage)
  return EXIT.ok
}

/**
 * `tokengate ARGV`: runs one command and resolves to its exit code (EXIT). A
 * command line that cannot run exits 2; a command that fails (bad
 * configuration, a refusal) is reported on one line and exits 1. `serve`
 * resolves once the gateway listens; it keeps running.
 */
export async function runTokengate (argv: readonly string[], io: CommandIo): Promise<number> {
  // Answered whatever else the line says, by every command: `tokengate admin revoke-all --version` revokes nothing.
  if (wants(argv, '--version') || argv[0] === '-V') {
    io.out(version())
    return EXIT.ok
  }
  try {
    return await dispatch(argv, io)
  } catch (err) {
    io.err(`tokengate: ${err instanceof Error ? err.message : String(err)}`)
    return err instanceof UsageError ? EXIT.usage : EXIT.failed
  }
}
