import { request } from 'undici'
import type { AdminClientConfig } from '../config/admin-client.js'

const TIMEOUT_MS = 10_000

/** A gateway answer: its status and its JSON body (null when there is none or it is not JSON). */
export interface AdminAnswer {
  readonly status: number
  readonly body: any
}

/** The gateway could not be asked: refused, timed out, not HTTP. */
export class GatewayUnreachable extends Error {}

/** Calls one /admin route with the admin bearer token. */
export async function callAdmin (config: AdminClientConfig, method: 'GET' | 'POST', path: string, body?: unknown): Promise<AdminAnswer> {
  const url = new URL(path, config.url)
  let response
  try {
    response = await request(url, {
      method,
      headers: {
        authorization: `Bearer ${config.token}`,
        accept: 'application/json',
        ...(body !== undefined && { 'content-type': 'application/json' })
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(TIMEOUT_MS)
    })
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).name
    throw new GatewayUnreachable(`cannot reach ${url.origin}: ${reason}`)
  }
  const text = await response.body.text()
  let parsed: unknown = null
  try { parsed = text === '' ? null : JSON.parse(text) } catch { parsed = null }
  return { status: response.statusCode, body: parsed }
}
