import { parseArgs, type ParseArgsConfig } from 'node:util'
import { loadAdminClientConfig, type AdminClientConfig } from '../config/admin-client.js'
import { ConfigError } from '../errors.js'
import { callAdmin, GatewayUnreachable, type AdminAnswer } from './admin-client.js'
import { alertLines, ownTokenLine, revokedLines, statusLines } from './admin-output.js'
import type { CommandIo } from './io.js'
import { EXIT, UsageError, wants } from './usage.js'

const FOOTER = `--iss names the issuer (exactly its iss); required when the gateway trusts several.
The gateway is TOKENGATE_URL (default http://127.0.0.1:8080); the admin token comes from
TOKENGATE_ADMIN_TOKEN or the file named by TOKENGATE_ADMIN_TOKEN_FILE, never from an argument.
Exit codes: 0 done; 1 the gateway refused or could not be reached, or a confirmation was declined;
2 a command line that cannot run as written (nothing was sent); 3 status on a degraded gateway.`

/** Each command's usage lines, for `tokengate admin COMMAND --help` and the list of them all. */
const COMMANDS: Readonly<Record<string, string>> = {
  status: '  status                                         health and revocation figures (exit 3 when degraded)',
  alerts: '  alerts [--severity S] [--since T] [--limit N]  security alerts, newest first',
  'revoke-user': '  revoke-user ID --reason TEXT [--iss ISSUER]    every token of user ID issued up to now',
  'revoke-all': `  revoke-all --reason TEXT [--yes] (--iss ISSUER | --all-issuers)
                                                 every token of everyone (of one issuer) issued up to now,
                                                 the admin token this command uses included when that
                                                 issuer issued it: you need a new one afterwards. Asks for
                                                 confirmation on a terminal; elsewhere --yes is required.
                                                 --iss may be left out when the gateway trusts one issuer.
                                                 A leaked signing key is answered by rotating the key
                                                 (docs/operations.md), not by revoke-all alone.`,
  'revoke-token': `  revoke-token --reason TEXT (--jti JTI [--exp EPOCH_S] [--iss ISSUER] | --token-stdin)
                                                 one token, by jti or by value read from stdin`
}

export const ADMIN_USAGE = `usage: tokengate admin COMMAND [--json] [--url URL]
${Object.values(COMMANDS).join('\n')}
${FOOTER}`

function usageOf (command: string): string {
  return `usage: tokengate admin ${command} [--json] [--url URL]\n${COMMANDS[command]}\n${FOOTER}`
}

export type AdminIo = CommandIo

type Options = NonNullable<ParseArgsConfig['options']>

const COMMON: Options = { json: { type: 'boolean', default: false }, url: { type: 'string' } }
const OPTIONS: Readonly<Record<string, Options>> = {
  status: {},
  alerts: { severity: { type: 'string' }, since: { type: 'string' }, limit: { type: 'string' } },
  'revoke-user': { reason: { type: 'string' }, iss: { type: 'string' } },
  'revoke-all': { reason: { type: 'string' }, yes: { type: 'boolean', default: false }, iss: { type: 'string' }, 'all-issuers': { type: 'boolean', default: false } },
  'revoke-token': { reason: { type: 'string' }, jti: { type: 'string' }, exp: { type: 'string' }, iss: { type: 'string' }, 'token-stdin': { type: 'boolean', default: false } }
}
const POSITIONALS: Readonly<Record<string, number>> = { 'revoke-user': 1 }

interface Parsed { readonly values: Record<string, string | boolean | undefined>, readonly positionals: string[] }

function parse (command: string, args: string[]): Parsed {
  if (args.some((a) => /^--(admin-)?token(=|$)/.test(a))) {
    throw new UsageError('the admin token is never taken from the command line (ps shows it to every local user): set TOKENGATE_ADMIN_TOKEN or TOKENGATE_ADMIN_TOKEN_FILE')
  }
  let parsed: Parsed
  try {
    parsed = parseArgs({ args, options: { ...COMMON, ...OPTIONS[command] }, allowPositionals: true, strict: true }) as Parsed
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const expected = POSITIONALS[command] ?? 0
  if (parsed.positionals.length !== expected) throw new UsageError(`${command} takes ${expected === 0 ? 'no' : expected} argument${expected === 1 ? '' : 's'}`)
  return parsed
}

function reasonOf (values: Parsed['values']): string {
  const reason = typeof values.reason === 'string' ? values.reason.trim() : ''
  if (reason === '') throw new UsageError('--reason is required: every revocation is audited with the reason given')
  return reason
}

function epochOf (value: string | boolean | undefined): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || !/^\d{1,12}$/.test(value)) throw new UsageError('--exp must be the token\'s exp claim, in epoch seconds')
  return Number(value)
}

/** One gateway call; a non-2xx answer prints its OAuth error and ends the command with EXIT.failed. */
async function ask (config: AdminClientConfig, io: AdminIo, json: boolean, method: 'GET' | 'POST', path: string, body?: unknown): Promise<AdminAnswer | null> {
  const answer = await callAdmin(config, method, path, body)
  if (answer.status >= 200 && answer.status < 300) return answer
  const error = typeof answer.body?.error === 'string' ? answer.body.error : 'http_error'
  const description = typeof answer.body?.error_description === 'string' ? answer.body.error_description : 'the gateway refused the request'
  if (json) io.out(JSON.stringify({ status: answer.status, error, error_description: description }))
  io.err(`tokengate admin: ${answer.status} ${error}: ${description}`)
  return null
}

async function run (command: string, parsed: Parsed, config: AdminClientConfig, io: AdminIo): Promise<number> {
  const { values, positionals } = parsed
  const json = values.json === true
  const print = (answer: unknown, lines: string[]): void => { if (json) io.out(JSON.stringify(answer)); else lines.forEach(io.out) }
  switch (command) {
    case 'status': {
      const health = await ask(config, io, json, 'GET', '/admin/health')
      if (health === null) return EXIT.failed
      const revocation = await ask(config, io, json, 'GET', '/admin/blacklist/status')
      if (revocation === null) return EXIT.failed
      print({ health: health.body, revocation: revocation.body }, statusLines(health.body, revocation.body))
      return health.body?.status === 'ok' ? EXIT.ok : EXIT.degraded
    }
    case 'alerts': {
      const query = new URLSearchParams()
      for (const name of ['severity', 'since', 'limit']) if (typeof values[name] === 'string') query.set(name, values[name])
      const answer = await ask(config, io, json, 'GET', `/admin/alerts${query.size > 0 ? `?${query.toString()}` : ''}`)
      if (answer === null) return EXIT.failed
      print(answer.body, alertLines(answer.body))
      return EXIT.ok
    }
    case 'revoke-user':
    case 'revoke-all':
    case 'revoke-token': {
      const reason = reasonOf(values)
      // The gateway decides what an absent issuer means (the single trusted one) and refuses an ambiguous one.
      const iss = typeof values.iss === 'string' ? { iss: values.iss } : {}
      let path = '/admin/tokens/revoke'
      let body: Record<string, unknown> = { reason, ...iss }
      if (command === 'revoke-user') {
        path = `/admin/users/${encodeURIComponent(positionals[0])}/revoke`
      } else if (command === 'revoke-all') {
        if (values['all-issuers'] === true) {
          if (values.iss !== undefined) throw new UsageError('revoke-all: --iss or --all-issuers, not both')
          body = { reason, all_issuers: true }
        }
        if (values.yes !== true && !await confirmed(io, values)) return EXIT.failed
        path = '/admin/revoke-all'
      } else if (values['token-stdin'] === true) {
        if (values.jti !== undefined) throw new UsageError('name the token by --jti or --token-stdin, not both')
        if (values.iss !== undefined) throw new UsageError('--token-stdin: the token names its own issuer; --iss goes with --jti')
        const token = (await io.stdin()).trim()
        if (token === '') throw new UsageError('--token-stdin: no token on standard input')
        body = { reason, token }
      } else {
        if (typeof values.jti !== 'string' || values.jti === '') throw new UsageError('name the token: --jti JTI (with --exp when known), or --token-stdin')
        const exp = epochOf(values.exp)
        body = { reason, ...iss, jti: values.jti, ...(exp !== undefined && { exp }) }
      }
      const answer = await ask(config, io, json, 'POST', path, body)
      if (answer === null) return EXIT.failed
      print(answer.body, revokedLines(answer.body))
      if (command === 'revoke-all') {
        const own = ownTokenLine(config.token, answer.body)
        if (own !== null) io.err(own)
      }
      return EXIT.ok
    }
    default:
      throw new UsageError(`unknown admin command "${command}"`)
  }
}

/**
 * revoke-all without --yes: asks on a terminal, and refuses (exit 2) where nobody can answer, so
 * that a script never logs everyone out by leaving a flag off.
 */
async function confirmed (io: AdminIo, values: Parsed['values']): Promise<boolean> {
  const scope = values['all-issuers'] === true ? 'of every issuer' : typeof values.iss === 'string' ? `of issuer ${values.iss}` : 'of the trusted issuer'
  if (io.confirm === undefined) {
    throw new UsageError(`revoke-all logs out everyone ${scope}, you included (the admin token this command uses is revoked too): pass --yes to confirm; there is no terminal to ask on`)
  }
  const answer = await io.confirm(`revoke-all: every token ${scope} issued up to now stops working, the admin token this command uses included (get a new one afterwards). Type "yes" to go on: `)
  if (answer) return true
  io.err('tokengate admin: revoke-all declined: nothing was revoked')
  return false
}

/** `tokengate admin COMMAND ...`: incident response against a running gateway. */
export async function adminCommand (args: string[], io: AdminIo): Promise<number> {
  const [command, ...rest] = args
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    if (command === undefined) io.err(ADMIN_USAGE)
    else io.out(ADMIN_USAGE)
    return command === undefined ? EXIT.usage : EXIT.ok
  }
  try {
    if (!(command in OPTIONS)) throw new UsageError(`unknown admin command "${command}"`)
    if (wants(rest, '--help')) {
      io.out(usageOf(command))
      return EXIT.ok
    }
    const parsed = parse(command, rest)
    const config = loadAdminClientConfig(io.env, typeof parsed.values.url === 'string' ? parsed.values.url : undefined)
    return await run(command, parsed, config, io)
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`tokengate admin: ${err.message}\n${command in COMMANDS ? usageOf(command) : ADMIN_USAGE}`)
      return EXIT.usage
    }
    if (err instanceof ConfigError) {
      io.err(`tokengate admin: ${err.message}`)
      return EXIT.usage
    }
    if (err instanceof GatewayUnreachable) {
      io.err(`tokengate admin: ${err.message}`)
      return EXIT.failed
    }
    throw err
  }
}
