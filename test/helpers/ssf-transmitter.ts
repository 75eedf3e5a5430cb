import { createPrivateKey, generateKeyPairSync, randomUUID, sign as cryptoSign, type KeyObject } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

function b64 (value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

interface Teardown { teardown: (fn: () => unknown) => void }

export const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/'
export const RISC = 'https://schemas.openid.net/secevent/risc/event-type/'
export const SSF_EVENT = 'https://schemas.openid.net/secevent/ssf/event-type/'

interface SigningKey { readonly kid: string, readonly alg: 'ES256' | 'RS256', readonly privatePem: string, readonly publicKey: KeyObject }

function signingKey (alg: 'ES256' | 'RS256'): SigningKey {
  const { publicKey, privateKey } = alg === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : generateKeyPairSync('rsa', { modulusLength: 2048 })
  return { kid: `${alg.toLowerCase()}-${randomUUID().slice(0, 8)}`, alg, publicKey, privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() }
}

export interface SetOptions {
  readonly alg?: 'ES256' | 'RS256'
  /** Claims merged over iss, aud, jti, iat; undefined drops one. */
  readonly claims?: Record<string, unknown>
  readonly header?: Record<string, unknown>
  /** Sign with a key this transmitter does not publish. */
  readonly foreignKey?: boolean
}

/** One RFC 8936 poll request as the transmitter received it. */
export interface PollRequest {
  readonly ack: string[]
  readonly setErrs: Record<string, { err: string, description: string }>
  readonly maxEvents: number
  readonly returnImmediately: boolean
  readonly authorization: string | undefined
}

/**
 * A Shared Signals transmitter built from node:crypto and node:http: ES256 and RS256 keys in a
 * JWKS, SSF metadata at /.well-known/ssf-configuration, an RFC 8936 poll endpoint, a stream
 * configuration endpoint (SSF 1.0 §7.1) and a verification endpoint (§8.1.4.2).
 */
export class TestTransmitter {
  readonly keys: Record<'ES256' | 'RS256', SigningKey> = { ES256: signingKey('ES256'), RS256: signingKey('RS256') }
  readonly foreign = signingKey('ES256')
  readonly polls: PollRequest[] = []
  readonly acked = new Set<string>()
  readonly setErrs = new Map<string, { err: string, description: string }>()
  /** SETs waiting for a poll, by jti. */
  readonly queue = new Map<string, string>()
  streams: Array<Record<string, unknown>> = []
  readonly streamRequests: Array<{ method: string, body: unknown, authorization: string | undefined }> = []
  readonly verificationStates: string[] = []
  /** Client credentials its token endpoint accepts; management calls then need a token it issued. */
  readonly client = { id: 'gateway', secret: 'client-secret-0123456789' }
  readonly issuedTokens = new Set<string>()
  /** Whether the stream configuration endpoint requires a token from the token endpoint. */
  requireManagementToken = false
  /** The status the stream configuration endpoint answers instead of doing its job (500: broken). */
  streamStatus = 200
  /** The status the poll endpoint answers (500: a failing transmitter). */
  pollStatus = 200
  /** What the metadata names as issuer (a mismatch test changes it). */
  metadataIssuer: string | null = null
  audience = 'https://gateway.example/ssf'
  readonly #server: Server
  #url = ''

  constructor () {
    this.#server = createServer((req, res) => { this.#handle(req, res).catch(() => { res.writeHead(500).end() }) })
  }

  static async start (t: Teardown): Promise<TestTransmitter> {
    const transmitter = new TestTransmitter()
    await new Promise<void>((resolve) => transmitter.#server.listen(0, '127.0.0.1', resolve))
    transmitter.#url = `http://127.0.0.1:${(transmitter.#server.address() as AddressInfo).port}`
    t.teardown(async () => { await new Promise((resolve) => { transmitter.#server.closeAllConnections(); transmitter.#server.close(resolve) }) })
    return transmitter
  }

  get issuer (): string {
    return this.#url
  }

  get tokenUrl (): string {
    return `${this.#url}/token`
  }

  get pollUrl (): string {
    return `${this.#url}/poll`
  }

  /** A SET with valid defaults (typ secevent+jwt, iss, aud, fresh jti, iat now). */
  sign (events: Record<string, unknown>, { alg = 'ES256', claims = {}, header = {}, foreignKey = false }: SetOptions = {}): string {
    const key = foreignKey ? this.foreign : this.keys[alg]
    const payload: Record<string, unknown> = { iss: this.issuer, aud: this.audience, jti: randomUUID(), iat: Math.floor(Date.now() / 1000), events, ...claims }
    for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name]
    const head = { alg: key.alg, kid: key.kid, typ: 'secevent+jwt', ...header }
    for (const [name, value] of Object.entries(head)) if (value === undefined) delete (head as Record<string, unknown>)[name]
    const input = `${b64(head)}.${b64(payload)}`
    // Signed by hand: exactly these claims (no signer adds or drops one); ES256 as JWS wants it (r || s).
    const signature = cryptoSign('sha256', Buffer.from(input), { key: createPrivateKey(key.privatePem), dsaEncoding: 'ieee-p1363' })
    return `${input}.${signature.toString('base64url')}`
  }

  /** A new key (and kid) for `alg`, published in the JWKS from now on: a key rotation. */
  rotate (alg: 'ES256' | 'RS256'): void {
    this.keys[alg] = signingKey(alg)
  }

  /** The PEM of a published public key (an attacker's HMAC secret in an algorithm-confusion forgery). */
  publicPem (alg: 'ES256' | 'RS256'): string {
    return this.keys[alg].publicKey.export({ type: 'spki', format: 'pem' }).toString()
  }

  /** Queues a SET for the next poll; returns its jti. */
  enqueue (set: string): string {
    const jti = JSON.parse(Buffer.from(set.split('.')[1], 'base64url').toString()).jti as string
    this.queue.set(jti, set)
    return jti
  }

  jwks (): object {
    return {
      keys: [this.keys.ES256, this.keys.RS256].map((key) => ({ ...key.publicKey.export({ format: 'jwk' }), kid: key.kid, alg: key.alg, use: 'sig' }))
    }
  }

  async #handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const text = Buffer.concat(chunks).toString()
    const body: unknown = text === '' || req.headers['content-type'] !== 'application/json' ? undefined : JSON.parse(text)
    const json = (status: number, value?: unknown): void => {
      res.writeHead(status, value === undefined ? {} : { 'content-type': 'application/json' }).end(value === undefined ? undefined : JSON.stringify(value))
    }
    const path = new URL(req.url ?? '/', this.#url).pathname
    if (path === '/.well-known/ssf-configuration') {
      return json(200, {
        spec_version: '1_0',
        issuer: this.metadataIssuer ?? this.issuer,
        jwks_uri: `${this.#url}/jwks`,
        delivery_methods_supported: ['urn:ietf:rfc:8935', 'urn:ietf:rfc:8936'],
        configuration_endpoint: `${this.#url}/streams`,
        verification_endpoint: `${this.#url}/verify`
      })
    }
    if (path === '/jwks') return json(200, this.jwks())
    if (path === '/poll') return await this.#poll(req, res, body as Record<string, unknown>)
    if (path === '/token' && req.method === 'POST') {
      const basic = `Basic ${Buffer.from(`${this.client.id}:${this.client.secret}`).toString('base64')}`
      if (req.headers.authorization !== basic || !text.includes('grant_type=client_credentials')) return json(401, { error: 'invalid_client' })
      const token = `mgmt-${randomUUID()}`
      this.issuedTokens.add(token)
      return json(200, { access_token: token, token_type: 'Bearer', expires_in: 3600 })
    }
    if (path === '/streams' || path === '/verify') {
      const presented = req.headers.authorization?.replace(/^Bearer /, '') ?? ''
      if (this.requireManagementToken && !this.issuedTokens.has(presented)) return json(401)
    }
    if (path === '/streams') {
      this.streamRequests.push({ method: req.method ?? '', body, authorization: req.headers.authorization })
      if (this.streamStatus !== 200) return json(this.streamStatus)
      if (req.method === 'GET') return this.streams.length === 0 ? json(404) : json(200, this.streams)
      if (req.method === 'POST') {
        const request = body as Record<string, unknown>
        const delivery = { ...(request.delivery as Record<string, unknown>) }
        if (delivery.method === 'urn:ietf:rfc:8936') delivery.endpoint_url = this.pollUrl
        const stream = { stream_id: randomUUID(), iss: this.issuer, aud: this.audience, delivery, events_requested: request.events_requested, events_delivered: request.events_requested }
        this.streams.push(stream)
        return json(201, stream)
      }
    }
    if (path === '/verify' && req.method === 'POST') {
      const { state } = body as { state: string }
      this.verificationStates.push(state)
      this.enqueue(this.sign({ [`${SSF_EVENT}verification`]: { state } }, { claims: { sub_id: { format: 'opaque', id: String((body as { stream_id: string }).stream_id) } } }))
      return json(204)
    }
    json(404)
  }

  async #poll (req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>): Promise<void> {
    const request: PollRequest = {
      ack: (body.ack as string[] | undefined) ?? [],
      setErrs: (body.setErrs as PollRequest['setErrs'] | undefined) ?? {},
      maxEvents: Number(body.maxEvents ?? 10),
      returnImmediately: body.returnImmediately === true,
      authorization: req.headers.authorization
    }
    this.polls.push(request)
    // RFC 8936 §2.4.2: acknowledged SETs are not delivered again; refused ones neither.
    for (const jti of request.ack) { this.acked.add(jti); this.queue.delete(jti) }
    for (const [jti, error] of Object.entries(request.setErrs)) { this.setErrs.set(jti, error); this.queue.delete(jti) }
    if (this.pollStatus !== 200) {
      res.writeHead(this.pollStatus).end()
      return
    }
    // A long poll is held briefly while nothing waits (enough to show the loop does not spin).
    if (this.queue.size === 0 && !request.returnImmediately) await new Promise((resolve) => setTimeout(resolve, 200))
    const sets = Object.fromEntries([...this.queue].slice(0, request.maxEvents))
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ sets, moreAvailable: this.queue.size > request.maxEvents }))
  }
}

/** POSTs a SET as RFC 8935 §2 describes. */
export async function pushSet (url: string, set: string, authorization: string | null, contentType = 'application/secevent+jwt'): Promise<{ status: number, body: unknown }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': contentType, ...(authorization !== null && { authorization }) }, body: set })
  const text = await res.text()
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) }
}
