import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { sign } from '../helpers/tokens.js'
import type { TestTransmitter } from '../helpers/ssf-transmitter.js'

/** The identity provider whose tokens the transmitter's events revoke (the single trusted issuer). */
export const IDP = 'https://idp.example.com/'
export const PUSH_AUTHORIZATION = 'Bearer ssf-push-secret-0123456789abcdefghijklmnop'
export const POLL_TOKEN = 'poll-token-0123456789'

/** A gateway environment trusting IDP (HS256 test tokens) and receiving the transmitter's SETs. */
export function ssfEnv (transmitter: TestTransmitter, entry: Record<string, unknown> = {}, extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'development',
    JWT_ISSUER: IDP,
    LOG_LEVEL: 'warn',
    SSF_TRANSMITTERS: JSON.stringify([{
      issuer: transmitter.issuer,
      metadata: true,
      audience: transmitter.audience,
      delivery: { push: { authorization: PUSH_AUTHORIZATION } },
      ...entry
    }]),
    ...extra
  }
}

/** An access token of IDP for `sub` in session `sid`. */
export function tokenOf (sub: string, sid: string = randomUUID()): string {
  return sign({ claims: { iss: IDP, sub, sid } })
}

/** The status a token gets at {AUTH_PREFIX}/token/validate (200 passes, 401 refused). */
export async function statusOf (app: FastifyInstance, token: string): Promise<number> {
  const res = await app.inject({ method: 'GET', url: '/auth/token/validate', headers: { authorization: `Bearer ${token}` } })
  return res.statusCode
}

/** RFC 9493 iss_sub of IDP. */
export function issSub (sub: string): Record<string, string> {
  return { format: 'iss_sub', iss: IDP, sub }
}
