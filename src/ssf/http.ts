import { request, type Dispatcher } from 'undici'
import { readCapped } from '../tokens/read-capped.js'

/** Transmitter documents (metadata, JWKS, stream configuration, a poll answer of 100 SETs) stay well under this. */
const MAX_BYTES = 4 * 1024 * 1024

export interface JsonAnswer {
  readonly status: number
  /** The parsed body; undefined when empty or not JSON. */
  readonly body: unknown
}

export interface JsonRequest {
  readonly method?: Dispatcher.HttpMethod
  readonly headers?: Readonly<Record<string, string>>
  /** Sent as JSON; a string is sent as it is. */
  readonly body?: unknown
  readonly timeoutMs: number
  readonly signal?: AbortSignal
}

/** One request to a transmitter, its answer read capped; no redirects (undici's default): a document is where its name says. */
export async function requestJson (url: Readonly<URL>, { method = 'GET', headers = {}, body, timeoutMs, signal }: JsonRequest): Promise<JsonAnswer> {
  const timeout = AbortSignal.timeout(timeoutMs)
  const res = await request(new URL(url.href), {
    method,
    headers: {
      accept: 'application/json',
      ...(body !== undefined && typeof body !== 'string' && { 'content-type': 'application/json' }),
      ...headers
    },
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    signal: signal === undefined ? timeout : AbortSignal.any([timeout, signal])
  })
  const text = await readCapped(res.body, MAX_BYTES, 'transmitter answer')
  let parsed: unknown
  try {
    parsed = text === '' ? undefined : JSON.parse(text)
  } catch {
    parsed = undefined
  }
  return { status: res.statusCode, body: parsed }
}

export function isJsonObject (value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}
