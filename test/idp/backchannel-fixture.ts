import { createHmac, generateKeyPairSync, randomUUID, sign as cryptoSign, type KeyObject } from 'node:crypto'
import { createSigner } from 'fast-jwt'
import { BACKCHANNEL_LOGOUT_EVENT } from '../../src/idp/logout-token.js'
import { buildGateway, startGateway, type Gateway } from '../helpers/gateway.js'
import { call, type JsonResponse } from '../helpers/http.js'
import { AUDIENCE, LOGOUT_KID, SESSION_CLIENT, SUBJECT_CLIENT, startLogoutProvider, type LogoutProvider } from '../helpers/oidc-provider.js'
import { freePort } from '../helpers/redis.js'
import { b64 } from '../helpers/tokens.js'

interface Teardown { teardown: (fn: () => unknown) => void }

export interface LogoutSetup {
  readonly provider: LogoutProvider
  /** The replica whose URI the provider's clients registered. */
  readonly a: Gateway
  /** Another replica on the same store. */
  readonly b: Gateway
}

/**
 * A real OpenID provider (oidc-provider, back-channel logout on) whose clients' back-channel
 * logout URI is replica A's, and two replicas trusting it (discovery; NODE_ENV=development: http).
 */
export async function logoutSetup (t: Teardown, env: Record<string, string | undefined> = {}, backchannel: Record<string, unknown> = {}, entry: Record<string, unknown> = {}): Promise<LogoutSetup> {
  const port = await freePort()
  const provider = await startLogoutProvider(t, `http://127.0.0.1:${port}/auth/backchannel-logout`)
  const gatewayEnv = {
    NODE_ENV: 'development',
    JWT_SECRET: '',
    LOG_LEVEL: 'warn',
    JWT_ISSUERS: JSON.stringify([{ issuer: provider.issuer, discovery: true, audience: AUDIENCE, backchannel_logout: { client_ids: [SESSION_CLIENT, SUBJECT_CLIENT], ...backchannel }, ...entry }]),
    ...env
  }
  const built = await buildGateway(t, gatewayEnv)
  await built.app.listen({ port, host: '127.0.0.1' })
  const a = { ...built, url: `http://127.0.0.1:${port}` }
  const b = await startGateway(t, gatewayEnv)
  return { provider, a, b }
}

function pem (key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString()
}

/** An access token of the provider's session `sid` for `sub` (signed with its key, as its tokens are). */
export function accessToken (provider: LogoutProvider, sub: string, sid: string): string {
  const now = Math.floor(Date.now() / 1000)
  const sign = createSigner({ key: pem(provider.privateKey), algorithm: 'RS256', kid: LOGOUT_KID })
  return sign({ iss: provider.issuer, aud: AUDIENCE, sub, sid, jti: randomUUID(), iat: now, exp: now + 300 })
}

export const OTHER_KEY = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey

export interface LogoutTokenOptions {
  /** Claims over a valid default set; undefined removes one. */
  readonly claims?: Record<string, unknown>
  readonly header?: Record<string, unknown>
  readonly key?: KeyObject
  readonly algorithm?: 'RS256' | 'HS256'
}

/** A logout token as the provider would send it (valid by default), for the §2.6 rules one by one. */
export function logoutToken (provider: LogoutProvider, { claims = {}, header = {}, key = provider.privateKey, algorithm = 'RS256' }: LogoutTokenOptions = {}): string {
  const now = Math.floor(Date.now() / 1000)
  const payload: Record<string, unknown> = {
    iss: provider.issuer,
    aud: SESSION_CLIENT,
    iat: now,
    exp: now + 120,
    jti: randomUUID(),
    sub: 'alice',
    sid: 'session-1',
    events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
    ...claims
  }
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name]
  // Signed by hand (node:crypto): a signing library would add the iat a rule under test leaves out.
  const input = `${b64({ alg: algorithm, kid: LOGOUT_KID, typ: 'logout+jwt', ...header })}.${b64(payload)}`
  const signature = algorithm === 'HS256'
    ? createHmac('sha256', 'a-shared-secret-that-is-long-enough-for-hs256').update(input).digest()
    : cryptoSign('sha256', Buffer.from(input), key)
  return `${input}.${signature.toString('base64url')}`
}

export async function postLogout (gw: Gateway, token: string | undefined, contentType = 'application/x-www-form-urlencoded'): Promise<JsonResponse> {
  return await call(`${gw.url}/auth/backchannel-logout`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: token === undefined ? '' : new URLSearchParams({ logout_token: token }).toString()
  })
}

export async function verifyStatus (gw: Gateway, token: string): Promise<number> {
  return (await call(`${gw.url}/auth/verify`, { token })).status
}
