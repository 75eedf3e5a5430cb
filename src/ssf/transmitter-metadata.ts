import { isJsonObject, requestJson } from './http.js'

/** What tokengate takes from a transmitter's SSF metadata (SSF 1.0 §6.2). */
export interface TransmitterMetadata {
  readonly jwksUrl: URL | null
  readonly configurationEndpoint: URL | null
  readonly verificationEndpoint: URL | null
  readonly deliveryMethods: readonly string[]
}

function optionalUrl (value: unknown, name: string, allowHttp: boolean): URL | null {
  if (value === undefined) return null
  let url: URL
  try {
    url = new URL(String(value))
  } catch {
    throw new Error(`its ${name} is not a URL`)
  }
  if (url.protocol !== 'https:' && !(allowHttp && url.protocol === 'http:')) throw new Error(`its ${name} is not https (http only with NODE_ENV=development)`)
  return url
}

/**
 * Reads `/.well-known/ssf-configuration`. Its `issuer` must equal the configured one exactly
 * (SSF 1.0 §6.2.3, as OIDC Discovery §4.3): otherwise whoever serves the document could name
 * keys for a transmitter that is not theirs.
 */
export async function readTransmitterMetadata (issuer: string, url: Readonly<URL>, timeoutMs: number, allowHttp: boolean): Promise<TransmitterMetadata> {
  const { status, body } = await requestJson(url, { timeoutMs })
  if (status !== 200) throw new Error(`its metadata at ${url.origin}${url.pathname} answered ${status}`)
  if (!isJsonObject(body)) throw new Error(`its metadata at ${url.origin}${url.pathname} is not a JSON object`)
  if (body.issuer !== issuer) {
    const named = typeof body.issuer === 'string' ? `"${body.issuer.slice(0, 200)}"` : 'no issuer'
    throw new Error(`its metadata at ${url.origin}${url.pathname} names ${named}; it must name the configured issuer exactly (SSF 1.0 §6.2.3)`)
  }
  const methods = Array.isArray(body.delivery_methods_supported) ? body.delivery_methods_supported.filter((m): m is string => typeof m === 'string') : []
  return {
    jwksUrl: optionalUrl(body.jwks_uri, 'jwks_uri', allowHttp),
    configurationEndpoint: optionalUrl(body.configuration_endpoint, 'configuration_endpoint', allowHttp),
    verificationEndpoint: optionalUrl(body.verification_endpoint, 'verification_endpoint', allowHttp),
    deliveryMethods: methods
  }
}
