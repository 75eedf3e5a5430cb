import type t from 'tap'
import { call } from '../helpers/http.js'
import { nowS, sign } from '../helpers/tokens.js'

type Assert = Pick<typeof t, 'equal' | 'same' | 'match'>

/** Refused requests, one per status tokengate refuses with at /auth/verify (the 503 is the caller's: it needs Redis down). */
export const REFUSALS: Array<{ what: string, status: number, method: string, path: string, headers: Record<string, string> }> = [
  { what: 'no token', status: 401, method: 'GET', path: '/accounts', headers: {} },
  { what: 'an expired token', status: 401, method: 'GET', path: '/accounts', headers: { authorization: `Bearer ${sign({ claims: { iat: nowS() - 3600, exp: nowS() - 600 } })}` } },
  { what: 'a malformed Authorization header', status: 400, method: 'GET', path: '/accounts', headers: { authorization: 'Bearer not a token' } },
  { what: 'a scope the access rule needs missing', status: 403, method: 'POST', path: '/payments', headers: { authorization: `Bearer ${sign({ claims: { scope: 'read' } })}` } }
]

/**
 * The client of the proxy gets what tokengate answers to the same question asked directly: the
 * status, the JSON body (RFC 6750 §3: error, error_description), the challenge, and one request id.
 */
export async function sameAsTokengate (t: Assert, proxyUrl: string, gatewayUrl: string, refusal: { status: number, method: string, path: string, headers: Record<string, string> }): Promise<void> {
  const direct = await call(`${gatewayUrl}/auth/verify`, { headers: { ...refusal.headers, 'x-original-method': refusal.method, 'x-original-uri': refusal.path } })
  t.equal(direct.status, refusal.status, 'tokengate itself refuses with this status')
  const proxied = await call(`${proxyUrl}${refusal.path}`, { method: refusal.method, headers: refusal.headers })
  t.equal(proxied.status, refusal.status, 'the client gets tokengate\'s status')
  t.same(proxied.body, direct.body, 'and tokengate\'s JSON body')
  t.match(proxied.headers.get('content-type'), /^application\/json/)
  t.equal(proxied.headers.get('www-authenticate'), direct.headers.get('www-authenticate'), 'and its challenge')
  t.match(proxied.headers.get('x-request-id'), /^[\w-]+$/, 'one request id')
}
