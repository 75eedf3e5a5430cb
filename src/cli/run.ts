import type { CommandIo } from './io.js'
import { tokenCommand } from './token.js'

export const USAGE = `usage:
  tokengate [serve]                                  run the gateway (configuration from the environment)
  tokengate token --sub ID [--ttl 15m] [--refresh] [--sid SID] [--claims JSON]
                                                     mint a token with the configured key
  tokengate audit verify FILE                        check a hash-chained audit log
  tokengate config check FILE                        validate a configuration file without starting
  tokengate config schema                            print the configuration file's JSON Schema
  tokengate admin COMMAND [--json]                   incident response against a running gateway
                                                     (status, alerts, revoke-user, revoke-all, revoke-token)`

async function dispatch (argv: readonly string[], io: CommandIo): Promise<number> {
  const [command = 'serve', ...rest] = argv
  switch (command) {
    case 'serve': {
      // Loaded only to serve: the other commands start in a third of the CPU without the app.
      const { serve } = await import('../serve.js')
      await serve(io.env)
      return 0
    }
    case 'token':
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
      io.out(USAGE)
      return 0
    default:
      io.err(`tokengate: unknown command "${command}"\n${USAGE}`)
      return 2
  }
}

/**
 * `tokengate ARGV`: runs one command and resolves to its exit code. A command
 * that fails (bad configuration, a bad argument) is reported on one line and
 * exits 1. `serve` resolves once the gateway listens; it keeps running.
 */
export async function runTokengate (argv: readonly string[], io: CommandIo): Promise<number> {
  try {
    return await dispatch(argv, io)
  } catch (err) {
    io.err(`tokengate: ${err instanceof Error ? err.message : String(err)}`)
    return 1
  }
}
