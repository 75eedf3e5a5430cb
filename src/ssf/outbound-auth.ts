import { request } from 'undici'
import { readCapped } from '../tokens/read-capped.js'
import type { OutboundAuth } from './options.js'

const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024
// A token is renewed this long before its expires_in: a poll never starts with one about to lapse.
const RENEW_BEFORE_MS = 30_000
const DEFAULT_TOKEN_LIFETIME_S = 300

/**
 * The Authorization header tokengate sends a transmitter (poll endpoint, stream management): a
 * configured bearer token, or one obtained by the OAuth client credentials grant (RFC 6749
 * §4.4, client_secret_basic) and kept until shortly before it expires. Secrets never reach a log.
 */
export class OutboundAuthorization {
  readonly #auth: OutboundAuth
  readonly #timeoutMs: number
  #token: { value: string, untilMs: number } | null = null
  #inFlight: Promise<string> | null = null

  constructor (auth: OutboundAuth, timeoutMs: number) {
    this.#auth = auth
    this.#timeoutMs = timeoutMs
  }

  /** The header value, or null when the transmitter takes none. */
  async header (): Promise<string | null> {
    switch (this.#auth.kind) {
      case 'none':
        return null
      case 'bearer':
        return `Bearer ${this.#auth.token}`
      case 'client_credentials':
        if (this.#token !== null && Date.now() < this.#token.untilMs) return `Bearer ${this.#token.value}`
        this.#inFlight ??= this.#fetch().finally(() => { this.#inFlight = null })
        return `Bearer ${await this.#inFlight}`
    }
  }

  /** The transmitter refused the token (401): the next request gets a new one. */
  forget (): void {
    this.#token = null
  }

  async #fetch (): Promise<string> {
    const auth = this.#auth
    if (auth.kind !== 'client_credentials') throw new Error('no client credentials')
    const form = new URLSearchParams({ grant_type: 'client_credentials', ...(auth.scope !== null && { scope: auth.scope }) })
    // RFC 6749 §2.3.1: id and secret form-encoded before Basic.
    const basic = Buffer.from(`${encodeURIComponent(auth.clientId)}:${encodeURIComponent(auth.clientSecret)}`).toString('base64')
    const res = await request(new URL(auth.tokenUrl.href), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', authorization: `Basic ${basic}` },
      body: form.toString(),
      signal: AbortSignal.timeout(this.#timeoutMs)
    })
    const text = await readCapped(res.body, MAX_TOKEN_RESPONSE_BYTES, 'token response')
    if (res.statusCode !== 200) throw new Error(`the token endpoint answered ${res.statusCode}`)
    let body: { access_token?: unknown, expires_in?: unknown }
    try {
      body = JSON.parse(text) as typeof body
    } catch {
      throw new Error('the token endpoint answered no JSON')
    }
    if (typeof body.access_token !== 'string' || body.access_token === '') throw new Error('the token endpoint answered no access_token')
    const lifetimeS = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_LIFETIME_S
    this.#token = { value: body.access_token, untilMs: Date.now() + Math.max(lifetimeS * 1000 - RENEW_BEFORE_MS, 1000) }
    return body.access_token
  }
}
