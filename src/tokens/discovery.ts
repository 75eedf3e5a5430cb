/**
 * `discovery` of a JWT_ISSUERS entry: true or "openid-configuration" for OpenID Connect
 * Discovery, "oauth-authorization-server" for RFC 8414, or the metadata URL itself.
 */
export type DiscoverySetting = boolean | 'openid-configuration' | 'oauth-authorization-server' | string

/**
 * The metadata URL of `issuer`. OIDC Discovery 1.0 §4: the issuer with any trailing `/` removed,
 * then `/.well-known/openid-configuration`. RFC 8414 §3.1: `/.well-known/oauth-authorization-server`
 * inserted between the host and the issuer's path (its trailing `/` removed). Throws on a bad URL.
 */
export function discoveryUrlOf (issuer: string, discovery: DiscoverySetting): URL {
  if (discovery === true || discovery === 'openid-configuration') {
    return new URL(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`)
  }
  if (discovery === 'oauth-authorization-server') {
    const { origin, pathname } = new URL(issuer)
    return new URL(`${origin}/.well-known/oauth-authorization-server${pathname.replace(/\/$/, '')}`)
  }
  return new URL(String(discovery))
}
