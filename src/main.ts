#!/usr/bin/env node
import { text } from 'node:stream/consumers'
import { parseArgs } from 'node:util'
import { loadConfig } from './config/load.js'
import { ConfigError } from './errors.js'
import { createIssuer } from './tokens/issuer.js'

const USAGE = `usage:
  tokengate [serve]                                  run the gateway (configuration from the environment)
  tokengate token --sub ID [--ttl 15m] [--refresh] [--sid SID] [--claims JSON]
                                                     mint a token with the configured key
  tokengate audit verify FILE                        check a hash-chained audit log
  tokengate admin COMMAND [--json]                   incident response against a running gateway
                                                     (status, alerts, revoke-user, revoke-all, revoke-token)`

function parseTtl (value: string): number {
  const match = /^([1-9]\d*)([smhd]?)$/.exec(value)
  if (match === null) throw new Error(`--ttl "${value}" is not a duration such as 900, 15m, 12h or 7d`)
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2]] ?? 1
  return Number(match[1]) * unit
}

function parseClaims (value: string): Record<string, unknown> {
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch {
    parsed = null
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error('--claims must be a JSON object, such as \'{"scope":"read","roles":["user"]}\'')
  }
  return parsed as Record<string, unknown>
}

function mintToken (args: string[]): number {
  const { values } = parseArgs({
    args,
    options: {
      sub: { type: 'string' },
      ttl: { type: 'string' },
      refresh: { type: 'boolean', default: false },
      sid: { type: 'string' },
      claims: { type: 'string' }
    }
  })
  if (values.sub === undefined) throw new Error('--sub is required')
  const config = loadConfig(process.env, { serving: false })
  if (config.jwt.signing === null) throw new Error('no signing key: set JWT_SECRET, or JWT_PRIVATE_KEY with asymmetric algorithms')
  if (config.jwt.ephemeral) process.stderr.write('warning: no key configured; this token is signed with a throw-away key no gateway will accept\n')
  const issuer = createIssuer(config.jwt.signing, config.jwt.issuer, config.jwt.audience, config.jwt.requiredTyp)
  const ttlS = values.ttl !== undefined ? parseTtl(values.ttl) : values.refresh ? config.refreshTokenTtlS : config.accessTokenTtlS
  if (ttlS > config.jwt.maxTokenLifetimeS) throw new Error(`--ttl is longer than JWT_MAX_TOKEN_LIFETIME (${config.jwt.maxTokenLifetimeS}s): the gateway would refuse the token`)
  const claims = values.claims !== undefined ? parseClaims(values.claims) : {}
  const { token } = issuer.mint({ sub: values.sub, ttlS, refresh: values.refresh, claims, ...(values.sid !== undefined && { sid: values.sid }) })
  process.stdout.write(token + '\n')
  return 0
}

async function main (argv: string[]): Promise<number> {
  const [command = 'serve', ...rest] = argv
  switch (command) {
    case 'serve': {
      // Loaded only to serve: the other commands start in a third of the CPU without the app.
      const { serve } = await import('./serve.js')
      await serve()
      return process.exitCode === undefined ? 0 : Number(process.exitCode)
    }
    case 'token':
      return mintToken(rest)
    case 'audit': {
      const { auditCommand } = await import('./security/audit-cli.js')
      return await auditCommand(rest)
    }
    case 'admin': {
      const { adminCommand } = await import('./cli/admin.js')
      return await adminCommand(rest, {
        env: process.env,
        out: (line) => { process.stdout.write(line + '\n') },
        err: (line) => { process.stderr.write(line + '\n') },
        stdin: async () => await text(process.stdin)
      })
    }
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE + '\n')
      return 0
    default:
      process.stderr.write(`tokengate: unknown command "${command}"\n${USAGE}\n`)
      return 2
  }
}

main(process.argv.slice(2)).then((code) => {
  if (code !== 0) process.exitCode = code
}, (err: unknown) => {
  const message = err instanceof ConfigError || err instanceof Error ? err.message : String(err)
  process.stderr.write(`tokengate: ${message}\n`)
  process.exitCode = 1
})
