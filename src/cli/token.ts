import { parseArgs } from 'node:util'
import { loadConfig } from '../config/load.js'
import { createIssuer } from '../tokens/issuer.js'
import type { CommandIo } from './io.js'
import { UsageError } from './usage.js'

export const TOKEN_USAGE = `usage: tokengate token --sub ID [--ttl 15m] [--refresh] [--sid SID] [--claims JSON]
Mints a token signed with the configured key (JWT_SECRET, or JWT_PRIVATE_KEY) and prints it.
  --sub ID        the subject (required)
  --ttl T         lifetime: 900, 15m, 12h, 7d (default ACCESS_TOKEN_EXPIRE_MINUTES, or the refresh lifetime)
  --refresh       a refresh token (token_type refresh)
  --sid SID       the session id
  --claims JSON   more claims, a JSON object such as '{"scope":"read","roles":["user"]}'`

function parseTtl (value: string): number {
  const match = /^([1-9]\d*)([smhd]?)$/.exec(value)
  if (match === null) throw new UsageError(`--ttl "${value}" is not a duration such as 900, 15m, 12h or 7d`)
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
    throw new UsageError('--claims must be a JSON object, such as \'{"scope":"read","roles":["user"]}\'')
  }
  return parsed as Record<string, unknown>
}

/** `tokengate token --sub ID ...`: mints a token with the configured key; a bad argument throws a UsageError, a missing key an Error. */
export function tokenCommand (args: string[], io: CommandIo): number {
  let parsed
  try {
    parsed = parseArgs({
      args,
      options: {
        sub: { type: 'string' },
        ttl: { type: 'string' },
        refresh: { type: 'boolean', default: false },
        sid: { type: 'string' },
        claims: { type: 'string' }
      }
    })
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${TOKEN_USAGE}`)
  }
  const { values } = parsed
  if (values.sub === undefined) throw new UsageError(`--sub is required\n${TOKEN_USAGE}`)
  const config = loadConfig(io.env, { serving: false })
  if (config.jwt.signing === null) throw new Error('no signing key: set JWT_SECRET, or JWT_PRIVATE_KEY with asymmetric algorithms')
  if (config.jwt.ephemeral) io.err('warning: no key configured; this token is signed with a throw-away key no gateway will accept')
  const issuer = createIssuer(config.jwt.signing, config.jwt.issuer, config.jwt.audience, config.jwt.requiredTyp)
  const ttlS = values.ttl !== undefined ? parseTtl(values.ttl) : values.refresh ? config.refreshTokenTtlS : config.accessTokenTtlS
  if (ttlS > config.jwt.maxTokenLifetimeS) throw new UsageError(`--ttl is longer than JWT_MAX_TOKEN_LIFETIME (${config.jwt.maxTokenLifetimeS}s): the gateway would refuse the token`)
  const claims = values.claims !== undefined ? parseClaims(values.claims) : {}
  const { token } = issuer.mint({ sub: values.sub, ttlS, refresh: values.refresh, claims, ...(values.sid !== undefined && { sid: values.sid }) })
  io.out(token)
  return 0
}
