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

/** RFC 8941 §3.3.5: base64, "=" padding optional for the parser ("SHOULD NOT fail when ... not present"). */
function fromSfBinary (text: string): Buffer | null {
  if (text.length % 4 === 1 || !BASE64.test(text)) return null
  return fromBase64(text.endsWith('=') ? text : text.padEnd(Math.ceil(text.length / 4) * 4, '='))
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
  const der = match === null ? null : fromSfBinary(match[1])
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

// Envoy's keys (By, Hash, Cert, Chain, Subject, URI, DNS); URI and DNS repeat, one per SAN.
const XFCC_KEY = /^[A-Za-z]+$/
// Read from the element: each at most once, or which one Envoy wrote is unknown (a Subject with
// `";Hash=…` in it, which Envoy quotes without escaping).
const XFCC_SINGLE = new Set(['by', 'hash', 'cert'])

/**
 * The elements of X-Forwarded-Client-Cert, each a list of key=value pairs, in Envoy's grammar: a
 * value is a quoted string (`\"` inside) followed by `;`, `,` or the end, or unquoted text without
 * `"`, `;` or `,`. Null for anything else. Strict because a hop that appends its element
 * (APPEND_FORWARD) passes the client's earlier ones unread: a quote the client leaves open, closed
 * by a `"` in the client's own certificate (a Subject or URI SAN it chose), would otherwise merge
 * the appended element into the client's and make the client's Hash the one read.
 */
function xfccElements (value: string): Array<Map<string, string>> | null {
  const elements: Array<Map<string, string>> = []
  let pairs = new Map<string, string>()
  let i = 0
  const skipSpaces = (): void => { while (value[i] === ' ' || value[i] === '\t') i++ }
  for (;;) {
    skipSpaces()
    const equals = value.indexOf('=', i)
    const key = equals === -1 ? '' : value.slice(i, equals).trimEnd().toLowerCase()
    if (!XFCC_KEY.test(key) || (XFCC_SINGLE.has(key) && pairs.has(key))) return null
    i = equals + 1
    skipSpaces()
    let text = ''
    if (value[i] === '"') {
      for (i++; value[i] !== '"'; i++) {
        if (i >= value.length) return null
        if (value[i] === '\\') i++
        text += value[i] ?? ''
      }
      i++
      skipSpaces()
    } else {
      const start = i
      while (i < value.length && value[i] !== ';' && value[i] !== ',') if (value[i++] === '"') return null
      text = value.slice(start, i).trim()
    }
    pairs.set(key, text)
    if (i >= value.length) break
    if (value[i] === ',') {
      elements.push(pairs)
      pairs = new Map()
    } else if (value[i] !== ';') return null
    i++
  }
  elements.push(pairs)
  return elements
}

const SHA256_HEX = /^[0-9a-fA-F]{64}$/

/**
 * Envoy `X-Forwarded-Client-Cert` from `forward_client_cert_details: SANITIZE_SET`: exactly one
 * element, the trusted proxy's. Its Cert (URL-encoded PEM) when present, else its Hash (hex
 * SHA-256 of the DER); both must then name one certificate. More elements are refused: with
 * APPEND_FORWARD the earlier ones are the client's, and Envoy writes URI and DNS SANs unquoted,
 * so a client's own certificate with `,Hash=…` in a URI SAN adds an element after Envoy's.
 */
function parseEnvoy (value: string): string | Failure {
  const elements = xfccElements(value)
  if (elements === null) return malformed('X-Forwarded-Client-Cert is not a list of key=value elements')
  if (elements.length !== 1) return malformed('X-Forwarded-Client-Cert must hold one element, the trusted proxy\'s (Envoy forward_client_cert_details SANITIZE_SET)')
  const element = elements[0]
  const hash = element.get('hash')
  if (hash !== undefined && !SHA256_HEX.test(hash)) return malformed('the Hash of the X-Forwarded-Client-Cert element must be a hex SHA-256')
  const fromHash = hash === undefined ? undefined : Buffer.from(hash, 'hex').toString('base64url')
  const cert = element.get('cert')
  if (cert !== undefined) {
    const pem = urlDecoded(cert)
    const der = pem === null ? null : fromPem(pem)
    if (der === null) return malformed('the Cert of the X-Forwarded-Client-Cert element must be a URL-encoded PEM certificate')
    const thumbprint = thumbprintOf(der)
    return fromHash === undefined || fromHash === thumbprint ? thumbprint : malformed('the Cert and Hash of the X-Forwarded-Client-Cert element name two certificates')
  }
  return fromHash ?? malformed('the X-Forwarded-Client-Cert element carries neither Cert nor a SHA-256 Hash')
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
