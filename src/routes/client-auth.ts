import { createHash, timingSafeEqual } from 'node:crypto'

export interface IntrospectionClient {
  readonly id: string
  readonly secret: string
  /** REVOCATION_PRIVILEGED_CLIENTS: may revoke (RFC 7009) tokens issued to any client, not only its own. */
  readonly privileged: boolean
}

/** Bounded reasons, for the tokengate_oauth_client_auth_failures_total metric. */
export type ClientAuthFailure = 'missing' | 'malformed' | 'multiple_methods' | 'rejected'

export type ClientAuthResult =
  | { readonly ok: true, readonly client: IntrospectionClient }
  /** `presentedId`: the client id the caller claimed, to key its failure budget (never trusted otherwise). */
  | { readonly ok: false, readonly failure: ClientAuthFailure, readonly presentedId: string }

/** The client credentials parameters of a form body (RFC 6749 section 2.3.1, client_secret_post). */
export interface CredentialParams { readonly client_id?: string, readonly client_secret?: string }

function digest (value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

function formDecode (value: string): string | null {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '))
  } catch {
    return null
  }
}

type Credentials = { readonly id: string, readonly secret: string } | ClientAuthFailure

/** HTTP Basic: id and secret are form-encoded before base64 (RFC 6749 section 2.3.1). */
function basicCredentials (header: string): Credentials {
  const match = /^Basic +([A-Za-z0-9+/]+=*) *$/i.exec(header)
  if (match === null) return 'malformed'
  const decoded = Buffer.from(match[1], 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) return 'malformed'
  const id = formDecode(decoded.slice(0, colon))
  const secret = formDecode(decoded.slice(colon + 1))
  return id === null || secret === null ? 'malformed' : { id, secret }
}

function presentedCredentials (header: string | undefined, params: CredentialParams): Credentials {
  const inBody = params.client_secret !== undefined
  // RFC 6749 section 2.3: a client MUST NOT use more than one authentication method in a request.
  if (header !== undefined && inBody) return 'multiple_methods'
  if (header !== undefined) {
    const basic = basicCredentials(header)
    if (typeof basic !== 'string' && params.client_id !== undefined && params.client_id !== basic.id) return 'rejected'
    return basic
  }
  if (!inBody) return 'missing'
  return params.client_id === undefined ? 'malformed' : { id: params.client_id, secret: params.client_secret ?? '' }
}

/**
 * client_secret_basic or client_secret_post against INTROSPECTION_CLIENTS.
 * Secrets are compared as digests in constant time, against every client so
 * that the time taken does not reveal which ids exist.
 */
export function authenticateClient (header: string | undefined, params: CredentialParams, clients: readonly IntrospectionClient[]): ClientAuthResult {
  const credentials = presentedCredentials(header, params)
  if (typeof credentials === 'string') return { ok: false, failure: credentials, presentedId: params.client_id ?? '' }
  const presented = digest(credentials.secret)
  let found: IntrospectionClient | null = null
  for (const client of clients) {
    if (timingSafeEqual(digest(client.secret), presented) && client.id === credentials.id) found = client
  }
  return found === null ? { ok: false, failure: 'rejected', presentedId: credentials.id } : { ok: true, client: found }
}
