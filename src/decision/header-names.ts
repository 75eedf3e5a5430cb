import { IDENTITY_HEADERS } from './identity.js'

/**
 * A header name as a server may read it: CGI, WSGI, Rack and PHP turn both
 * `X-User-Id` and `X_User_Id` into `HTTP_X_USER_ID`, so every spelling that
 * equals a sensitive name after mapping `_` to `-` is that name. Node has
 * already lower-cased it.
 */
export function canonicalName (name: string): string {
  return name.includes('_') ? name.replaceAll('_', '-') : name
}

/**
 * Headers that make an upstream act on another method or path than the one
 * decided: method overrides (Express method-override, Symfony, Rails, Spring's
 * HiddenHttpMethodFilter variants) and the IIS / Symfony / Laminas URL
 * rewrites. Never forwarded in proxy mode; refused in forward-auth mode, where
 * the proxy would pass them on.
 */
export const REROUTING_HEADERS: ReadonlySet<string> = new Set([
  'x-http-method-override', 'x-http-method', 'x-method-override', 'x-original-url', 'x-rewrite-url'
])

/**
 * Headers through which a proxy speaks for the client (address, scheme, host,
 * port, prefix). Believed only from TRUSTED_PROXIES; names starting with
 * `x-forwarded-` or `x-original-` are forwarding headers too.
 */
const FORWARDING_HEADERS: ReadonlySet<string> = new Set([
  'forwarded', 'x-real-ip', 'true-client-ip', 'x-client-ip', 'x-cluster-client-ip', 'cf-connecting-ip',
  'fastly-client-ip', 'x-host', 'x-url-scheme', 'front-end-https', 'x-proxyuser-ip',
  // The client certificate a TLS-terminating proxy passes on (client-certificate.ts): RFC 9440, and
  // nginx's escaped certificate with its verification status (Envoy's and Traefik's are x-forwarded-*).
  'client-cert', 'client-cert-chain', 'x-ssl-client-cert', 'x-ssl-client-verify'
])

export function isForwardingHeader (canonical: string): boolean {
  return FORWARDING_HEADERS.has(canonical) || canonical.startsWith('x-forwarded-') || canonical.startsWith('x-original-')
}

const IDENTITY: ReadonlySet<string> = new Set(IDENTITY_HEADERS)

export function isIdentityHeader (canonical: string): boolean {
  return IDENTITY.has(canonical)
}

/**
 * Forward-auth: the first client header the proxy would pass to the upstream
 * in a form that changes what the upstream acts on or whom it believes, and
 * that the proxy does not overwrite: a rerouting header, or an identity or
 * forwarding header spelled with underscores (nginx's `proxy_set_header` and
 * Traefik's `authResponseHeaders` replace `X-User-Id`, never `X_User_Id`).
 */
export function ambiguousHeader (headers: Record<string, unknown>): string | null {
  for (const name in headers) {
    if (REROUTING_HEADERS.has(name)) return name
    if (!name.includes('_')) continue
    const canonical = canonicalName(name)
    if (REROUTING_HEADERS.has(canonical) || isIdentityHeader(canonical) || isForwardingHeader(canonical)) return name
  }
  return null
}
