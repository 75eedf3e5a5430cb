import { createHash, X509Certificate } from 'node:crypto'
import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { IncomingHttpHeaders } from 'node:http'
import { LRUCache } from 'lru-cache'
import { Failures, withDescription, type Failure } from '../errors.js'

/**
 * How a TLS-terminating proxy in TRUSTED_PROXIES passes the client certificate (CLIENT_CERT_HEADER).
 * Each format has one fixed header name, so that every spelling of it is a forwarding header
 * (header-names.ts): stripped from untrusted clients in proxy mode, refused with underscores.
 */
export type ClientCertFormat = 'rfc9440' | 'nginx' | 'envoy' | 'traefik'

export const CLIENT_CERT_FORMATS: readonly ClientCertFormat[] = ['rfc9440', 'nginx', 'envoy', 'traefik']

/** The header each format reads. */
export const CLIENT_CERT_HEADERS: Readonly<Record<ClientCertFormat, string>> = {
  rfc9440: 'client-cert',
  nginx: 'x-ssl-client-cert',
  envoy: 'x-forwarded-client-cert',
  traefik: 'x-forwarded-tls-client-cert'
}

/** nginx's `$ssl_client_verify`, passed beside the certificate: without it the certificate is not believed. */
export const CLIENT_VERIFY_HEADER = 'x-ssl-client-verify'

/** CLIENT_CERT_VERIFY: `success` believes SUCCESS only; `present` also FAILED:… (nginx optional_no_ca, RFC 8705 §2.2 self-signed). */
export type ClientCertVerify = 'success' | 'present'

/** Where the client certificate of a request comes from. */
export interface ClientCertOptions {
  /** CLIENT_CERT_HEADER; null: no proxy passes certificates. */
  readonly format: ClientCertFormat | null
  readonly verify: ClientCertVerify
  /** tokengate's own listener asks clients for a certificate (TLS_CLIENT_CERT request or require-ca). */
  readonly tls: boolean
}

/** Whether any source of client certificates is configured (RFC 9728 tls_client_certificate_bound_access_tokens). */
export function certificatesConfigured (options: ClientCertOptions): boolean {
  return options.format !== null || options.tls
}

/** RFC 8705 §3.1: base64url(SHA-256(DER)) of the certificate, the value of `x5t#S256`. */
export function thumbprintOf (der: Uint8Array): string {
  return createHash('sha256').update(der).digest('base64url')
}

// A certificate and its chain stay far under this; a header past it is refused unparsed.
const MAX_CERT_HEADER_CHARS = 32_768

function malformed (detail: string): Failure {
  return withDescription(Failures.CLIENT_CERT_MALFORMED, `The client certificate passed by the trusted proxy is malformed: ${detail}`)
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

/** DER that parses as an X.509 certificate, or null. */
function certificateDer (der: Buffer): Buffer | null {
  if (der.length === 0) return null
  try {
    // eslint-disable-next-line no-new
    new X509Certificate(der)
    return der
  } catch {
    return null
  }
}

function fromBase64 (text: string): Buffer | null {
  if (text.length % 4 !== 0 || !BASE64.test(text)) return null
  return certificateDer(Buffer.from(text, 'base64'))
}

function fromPem (pem: string): Buffer | null {
  const match = /^\s*-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----\s*$/.exec(pem)
  return match === null ? null : fromBase64(match[1].replace(/\s+/g, ''))
}

function urlDecoded (text: string): string | null {
  try {
    return decodeURIComponent(text)
  } catch {
    return null
  }
}

// What Caddy sends for `{http.request.tls.client.certificate_der_base64}` when the client presented
// no certificate: the placeholder itself, unreplaced.
const UNREPLACED_PLACEHOLDER = /^\{[a-z0-9_.]+\}$/

/**
 * RFC 9440 §2.2: an sf-binary (RFC 8941 §3.3.5), `:base64:`, DER inside. An empty one (`::`), or a
 * placeholder left unreplaced, is no certificate: proxies that fill the field from a placeholder
 * (Caddy's header_up) send it for a client without one.
 */
function parseRfc9440 (value: string): string | Failure | null {
  const match = /^[ \t]*:([^:]*):[ \t]*$/.exec(value)
  if (match !== null && (match[1] === '' || UNREPLACED_PLACEHOLDER.test(match[1]))) return null
  const der = match === null ? null : fromBase64(match[1])
  return der === null ? malformed('Client-Cert must be one structured-field byte sequence (:base64 DER:), RFC 9440 §2.2') : thumbprintOf(der)
}

/** nginx `$ssl_client_escaped_cert`: the PEM, URL-escaped. */
function parseNginx (value: string): string | Failure {
  const pem = urlDecoded(value)
  const der = pem === null ? null : fromPem(pem)
  return der === null ? malformed('X-SSL-Client-Cert must be a URL-escaped PEM certificate ($ssl_client_escaped_cert)') : thumbprintOf(der)
}

/** Traefik passtlsclientcert `pem: true`: base64 DER without delimiters, URL-escaped; a chain is comma-separated, leaf first. */
function parseTraefik (value: string): string | Failure {
  const leaf = value.split(',')[0].trim()
  const b64 = urlDecoded(leaf)
  const der = b64 === null ? null : fromBase64(b64)
  return der === null ? malformed('X-Forwarded-Tls-Client-Cert must be the base64 DER certificate (Traefik passTLSClientCert pem)') : thumbprintOf(der)
}

/**
 * The elements of X-Forwarded-Client-Cert, each a list of key=value pairs; values may be quoted,
 * with `\"` inside. Null when a quote is left open.
 */
function xfccElements (value: string): Array<Map<string, string>> | null {
  const elements: Array<Map<string, string>> = []
  let pairs = new Map<string, string>()
  let token = ''
  let key: string | null = null
  let quoted = false
  const endPair = (): void => {
    if (key !== null) pairs.set(key.trim().toLowerCase(), token.trim())
    else if (token.trim() !== '') pairs.set(token.trim().toLowerCase(), '')
    key = null
    token = ''
  }
  for (let i = 0; i < value.length; i++) {
    const c = value[i]
    if (quoted) {
      if (c === '\\' && i + 1 < value.length) token += value[++i]
      else if (c === '"') quoted = false
      else token += c
    } else if (c === '"') quoted = true
    else if (c === '=' && key === null) { key = token; token = '' } else if (c === ';') endPair()
    else if (c === ',') { endPair(); elements.push(pairs); pairs = new Map() } else token += c
  }
  if (quoted) return null
  endPair()
  elements.push(pairs)
  return elements
}

const SHA256_HEX = /^[0-9a-fA-F]{64}$/

/**
 * Envoy `X-Forwarded-Client-Cert`: only the last element is the one the trusted hop added (each
 * hop appends); earlier ones came from further away. Its Cert (URL-encoded PEM) when present,
 * else its Hash (hex SHA-256 of the DER).
 */
function parseEnvoy (value: string): string | Failure {
  const elements = xfccElements(value)
  const last = elements?.at(-1)
  if (last === undefined) return malformed('X-Forwarded-Client-Cert is not a list of key=value elements')
  const cert = last.get('cert')
  if (cert !== undefined) {
    const pem = urlDecoded(cert)
    const der = pem === null ? null : fromPem(pem)
    return der === null ? malformed('the Cert of the last X-Forwarded-Client-Cert element must be a URL-encoded PEM certificate') : thumbprintOf(der)
  }
  const hash = last.get('hash')
  if (hash !== undefined && SHA256_HEX.test(hash)) return Buffer.from(hash, 'hex').toString('base64url')
  return malformed('the last X-Forwarded-Client-Cert element carries neither Cert nor a SHA-256 Hash')
}

const PARSERS: Readonly<Record<ClientCertFormat, (value: string) => string | Failure | null>> = {
  rfc9440: parseRfc9440, nginx: parseNginx, envoy: parseEnvoy, traefik: parseTraefik
}

// A header value parsed once: an X.509 parse costs ~30 µs, and one client sends the same
// certificate on every request. Bounded (at most 32 KiB values, 1000 entries).
const parsed = Object.fromEntries(CLIENT_CERT_FORMATS.map((format) => [format, new LRUCache<string, string | Failure | false>({ max: 1000 })])) as Record<ClientCertFormat, LRUCache<string, string | Failure | false>>

function parseCached (format: ClientCertFormat, value: string): string | Failure | null {
  const cache = parsed[format]
  let answer = cache.get(value)
  if (answer === undefined) {
    // lru-cache holds no null: `false` stands for "no certificate".
    answer = PARSERS[format](value) ?? false
    cache.set(value, answer)
  }
  return answer === false ? null : answer
}

/** One header value, or a failure for a repeated or oversized one (never parsed). */
function single (value: string | string[] | undefined, name: string): string | Failure | undefined {
  if (value === undefined) return undefined
  if (Array.isArray(value) || value.length > MAX_CERT_HEADER_CHARS) return malformed(`${name} is repeated or longer than ${MAX_CERT_HEADER_CHARS} characters`)
  return value
}

/**
 * The thumbprint of the certificate in a trusted proxy's headers: null when it passed none
 * (or, for nginx, not with a verification status CLIENT_CERT_VERIFY accepts), a failure when
 * what it passed cannot be read.
 */
export function headerThumbprint (headers: IncomingHttpHeaders, format: ClientCertFormat, verify: ClientCertVerify): string | Failure | null {
  const name = CLIENT_CERT_HEADERS[format]
  const value = single(headers[name], name)
  if (value === undefined || value === '') return null
  if (typeof value !== 'string') return value
  if (format === 'nginx') {
    // With no client certificate nginx sends no certificate; a value without SUCCESS (or, with
    // `present`, FAILED:…) beside it is not the proxy's word that this client holds it.
    const status = headers[CLIENT_VERIFY_HEADER]
    if (typeof status !== 'string') return null
    if (status !== 'SUCCESS' && !(verify === 'present' && status.startsWith('FAILED:'))) return null
  }
  return parseCached(format, value)
}

// Per connection: its certificate is fixed at the handshake (the listener disables renegotiation,
// tls-listener.ts), and reading it costs 3 µs (getPeerCertificate: 30 µs) plus the hash.
const connectionThumbprints = new WeakMap<Socket, string | null>()

/** The thumbprint of the certificate presented on tokengate's own TLS listener, or null. */
export function tlsThumbprint (socket: Socket | undefined): string | null {
  const tls = socket as TLSSocket | undefined
  if (tls?.encrypted !== true || typeof tls.getPeerX509Certificate !== 'function') return null
  let thumbprint = connectionThumbprints.get(tls)
  if (thumbprint === undefined) {
    const raw = tls.getPeerX509Certificate()?.raw
    thumbprint = raw === undefined || raw.length === 0 ? null : thumbprintOf(raw)
    connectionThumbprints.set(tls, thumbprint)
  }
  return thumbprint
}

/** What the decision reads of a request to find its certificate. */
export interface CertificateRequest {
  readonly headers: IncomingHttpHeaders
  readonly socket?: Socket
}

/**
 * The request's client certificate thumbprint, computed only when a bound token asks: from a
 * trusted proxy's header when CLIENT_CERT_HEADER is set and the peer is in TRUSTED_PROXIES,
 * otherwise from tokengate's own TLS listener. A header from anyone else is never read.
 */
export type CertificateSource = (request: CertificateRequest) => string | Failure | null

export function createCertificateSource (options: ClientCertOptions, isTrustedProxy: (socket: Socket) => boolean): CertificateSource {
  const { format, verify, tls } = options
  return (request) => {
    const socket = request.socket
    if (format !== null && socket !== undefined && isTrustedProxy(socket)) return headerThumbprint(request.headers, format, verify)
    return tls ? tlsThumbprint(socket) : null
  }
}
