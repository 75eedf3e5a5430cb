import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { REVOKING_EVENTS } from './events.js'
import { isJsonObject, requestJson } from './http.js'
import type { TransmitterConfig } from './options.js'
import type { OutboundAuthorization } from './outbound-auth.js'
import type { TransmitterMetadata } from './transmitter-metadata.js'

export const PUSH_METHOD = 'urn:ietf:rfc:8935'
export const POLL_METHOD = 'urn:ietf:rfc:8936'

export type StreamResult = 'created' | 'matching' | 'mismatch' | 'failed'

/** What stream management found: the poll endpoint the stream names, and the state sent for verification. */
export interface StreamState {
  readonly result: StreamResult
  readonly streamId: string | null
  readonly pollEndpoint: URL | null
  /** SSF 1.0 §8.1.4.2: the state of the verification tokengate asked for; the verification SET echoes it. */
  readonly verificationState: string | null
  readonly problem: string | null
}

export interface StreamContext {
  readonly config: TransmitterConfig
  readonly metadata: TransmitterMetadata
  readonly auth: OutboundAuthorization
  readonly timeoutMs: number
  /**
   * Whether this replica is the one that creates the stream and asks for verification (it holds
   * the stream lease): replicas starting together would otherwise create one stream each. The
   * others read the stream, waiting for the creator.
   */
  readonly manager: () => Promise<boolean>
  /** How long a replica that does not manage waits for the stream to appear (tests shorten it). */
  readonly waitMs?: number
}

const WAIT_STEP_MS = 500

interface Wanted { readonly method: string, readonly endpointUrl: string | null, readonly events: readonly string[] }

function wanted (config: TransmitterConfig): Wanted {
  const events = config.stream.eventsRequested.length > 0 ? config.stream.eventsRequested : REVOKING_EVENTS
  // One stream has one delivery method: push when configured (the lower latency), poll otherwise.
  return config.push !== null
    ? { method: PUSH_METHOD, endpointUrl: config.push.endpointUrl?.href ?? null, events }
    : { method: POLL_METHOD, endpointUrl: null, events }
}

/** How a stream differs from what tokengate needs; null when it does not. */
function difference (stream: Record<string, unknown>, want: Wanted): string | null {
  const delivery = isJsonObject(stream.delivery) ? stream.delivery : {}
  if (delivery.method !== want.method) return `its delivery method is ${String(delivery.method).slice(0, 64)}, not ${want.method}`
  if (want.endpointUrl !== null && delivery.endpoint_url !== want.endpointUrl) return 'it pushes to another endpoint_url'
  const delivered = Array.isArray(stream.events_delivered) ? stream.events_delivered : Array.isArray(stream.events_requested) ? stream.events_requested : []
  const missing = want.events.filter((event) => !delivered.includes(event))
  return missing.length === 0 ? null : `it does not deliver ${missing.map((event) => event.slice(event.lastIndexOf('/') + 1)).join(', ')}`
}

function pollEndpointOf (stream: Record<string, unknown>): URL | null {
  const delivery = isJsonObject(stream.delivery) ? stream.delivery : {}
  try {
    return delivery.method === POLL_METHOD && typeof delivery.endpoint_url === 'string' ? new URL(delivery.endpoint_url) : null
  } catch {
    return null
  }
}

/** SSF 1.0 §7.1.1.2: GET answers one stream, or a list of them (each receiver sees its own). */
function firstStream (body: unknown): Record<string, unknown> | null {
  if (Array.isArray(body)) return isJsonObject(body[0]) ? body[0] : null
  return isJsonObject(body) && typeof body.stream_id === 'string' ? body : null
}

async function headers (auth: OutboundAuthorization): Promise<Record<string, string>> {
  const authorization = await auth.header()
  return authorization === null ? {} : { authorization }
}

/** SSF 1.0 §8.1.4.2: asks the transmitter for a verification event carrying a fresh state. */
async function requestVerification (context: StreamContext, streamId: string): Promise<string | null> {
  const endpoint = context.metadata.verificationEndpoint
  if (endpoint === null) return null
  const state = randomBytes(16).toString('base64url')
  const { status } = await requestJson(endpoint, { method: 'POST', headers: await headers(context.auth), body: { stream_id: streamId, state }, timeoutMs: context.timeoutMs })
  if (status !== 204 && status !== 200) throw new Error(`the verification endpoint answered ${status}`)
  return state
}

/**
 * SSF 1.0 §7.1: reads the stream at the transmitter's configuration_endpoint; the managing
 * replica creates it when there is none, with tokengate's delivery and the events it acts on,
 * and asks for a verification event; the others wait for it. A stream that differs is reported,
 * never rewritten behind an operator's back. Never throws.
 */
export async function manageStream (context: StreamContext): Promise<StreamState> {
  const endpoint = context.metadata.configurationEndpoint
  const none = { streamId: null, pollEndpoint: null, verificationState: null }
  if (endpoint === null) return { ...none, result: 'failed', problem: 'the metadata names no configuration_endpoint' }
  const want = wanted(context.config)
  try {
    const read = async (): Promise<Record<string, unknown> | null> => {
      const found = await requestJson(endpoint, { headers: await headers(context.auth), timeoutMs: context.timeoutMs })
      if (found.status === 401) context.auth.forget()
      if (found.status !== 200 && found.status !== 404) throw new Error(`reading the stream answered ${found.status}`)
      return found.status === 200 ? firstStream(found.body) : null
    }
    let stream = await read()
    const manager = await context.manager()
    // Another replica creates it: wait for it to appear rather than create a second stream.
    if (!manager) {
      for (let waited = 0; stream === null && waited < (context.waitMs ?? 30_000); waited += WAIT_STEP_MS) {
        await sleep(WAIT_STEP_MS)
        stream = await read()
      }
      if (stream === null) throw new Error('no stream appeared while another replica manages it')
    }
    let result: StreamResult = 'matching'
    let problem: string | null = null
    if (stream === null) {
      const delivery = { method: want.method, ...(want.endpointUrl !== null && { endpoint_url: want.endpointUrl, authorization_header: context.config.push?.authorization }) }
      const created = await requestJson(endpoint, {
        method: 'POST',
        headers: await headers(context.auth),
        body: { delivery, events_requested: want.events, description: 'tokengate revocation receiver' },
        timeoutMs: context.timeoutMs
      })
      if (created.status !== 201 && created.status !== 200) throw new Error(`creating the stream answered ${created.status}`)
      stream = firstStream(created.body)
      if (stream === null) throw new Error('the created stream has no stream_id')
      result = 'created'
    }
    problem = difference(stream, want)
    if (problem !== null && result === 'matching') result = 'mismatch'
    const streamId = String(stream.stream_id)
    let verificationState: string | null = null
    try {
      if (manager) verificationState = await requestVerification(context, streamId)
    } catch (err) {
      problem ??= `verification not requested: ${(err as Error).message}`
    }
    return { result, streamId, pollEndpoint: pollEndpointOf(stream), verificationState, problem }
  } catch (err) {
    return { ...none, result: 'failed', problem: (err as Error).message }
  }
}
