import type { EnvReader } from './env-reader.js'
import type { JwtConfig } from '../tokens/options.js'
import type { ResourceMetadataConfig } from '../routes/resource-metadata.js'

const WELL_KNOWN = '/.well-known/oauth-protected-resource'

/**
 * RESOURCE_URL: this API's resource identifier (RFC 9728 §1.2: https, no fragment; a query is
 * refused too, as the metadata URL is built from the path). The metadata is served at the URL
 * §3.1 derives from it, and names it verbatim (§3.3: never the request's Host). Null when unset.
 */
export function readResourceMetadata (r: EnvReader, jwt: JwtConfig): ResourceMetadataConfig | null {
  const development = r.raw('NODE_ENV') === 'development'
  const url = r.url('RESOURCE_URL', development ? ['https:', 'http:'] : ['https:'])
  const resource = r.raw('RESOURCE_URL')
  if (url === null || resource === undefined) return null
  if (url.search !== '' || url.hash !== '' || resource.includes('#') || resource.includes('?')) {
    r.fail('RESOURCE_URL', 'has a query or fragment; a resource identifier has neither (RFC 9728 §1.2)')
    return null
  }
  // §3.1: the well-known string goes between the host and the path, whose terminating "/" is removed.
  const path = `${WELL_KNOWN}${url.pathname.replace(/\/$/, '')}`
  return {
    resource,
    path,
    url: `${url.origin}${path}`,
    authorizationServers: jwt.issuers.flatMap((entry) => entry.issuer === null ? [] : [entry.issuer])
  }
}
