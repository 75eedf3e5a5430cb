import type { FastifyPluginAsync } from 'fastify'

/** RFC 9728 Protected Resource Metadata, from RESOURCE_URL and the trusted issuers. */
export interface ResourceMetadataConfig {
  /** The resource identifier, as configured (§3.3: never taken from the request). */
  readonly resource: string
  /** The path the metadata is served at (§3.1: path-inserted when the resource has a path). */
  readonly path: string
  /** The metadata's URL, which 401 challenges name in resource_metadata (§5.1). */
  readonly url: string
  readonly authorizationServers: readonly string[]
  /** DPOP_SIGNING_ALGS when DPOP=true (RFC 9728 §2: dpop_signing_alg_values_supported); null otherwise. */
  readonly dpopAlgorithms?: readonly string[] | null
  /** A source of client certificates is configured: certificate-bound tokens are checked (RFC 8705). */
  readonly certificateBound?: boolean
}

/** Metadata changes only with the configuration: let clients and caches keep it an hour. */
const CACHE_CONTROL = 'public, max-age=3600'

/**
 * GET (and HEAD) of the metadata: one body, serialised at start-up. In proxy mode this path is
 * tokengate's, never forwarded to the upstream.
 */
export const resourceMetadataRoutes: FastifyPluginAsync<ResourceMetadataConfig> = async (app, { resource, path, authorizationServers, dpopAlgorithms = null, certificateBound = false }) => {
  const body = JSON.stringify({
    resource,
    ...(authorizationServers.length > 0 && { authorization_servers: authorizationServers }),
    // Bearer tokens are read from the Authorization header only (RFC 6750 §2.1).
    bearer_methods_supported: ['header'],
    // RFC 9728 §2: DPoP proofs accepted with these algorithms; bearer tokens are accepted too.
    ...(dpopAlgorithms !== null && { dpop_signing_alg_values_supported: dpopAlgorithms, dpop_bound_access_tokens_required: false }),
    // RFC 9728 §2: mutual-TLS certificate-bound access tokens (RFC 8705) are supported.
    ...(certificateBound && { tls_client_certificate_bound_access_tokens: true })
  })
  app.get(path, async (_request, reply) => {
    return await reply.header('content-type', 'application/json').header('cache-control', CACHE_CONTROL).send(body)
  })
}
