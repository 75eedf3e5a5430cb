import * as client from 'openid-client'
import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { AUDIENCE, CLIENT, RESOURCE, startOpenIdProvider } from '../helpers/oidc-provider.js'
import { startUpstream } from '../helpers/upstream.js'
import { scrape, valueOf } from '../helpers/scrape.js'

/**
 * The whole chain with real software: panva's oidc-provider issues a DPoP-bound JWT access token
 * (RFC 9449 §5, §6: cnf.jkt) to openid-client, whose DPoP handle then calls an API through
 * tokengate in proxy mode, a new proof per request (§4, §7.1).
 */
t.test('RFC 9449 end to end: openid-client\'s DPoP calls an API through tokengate with a token from oidc-provider', async (t) => {
  const provider = await startOpenIdProvider(t, { dpop: true })
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, {
    NODE_ENV: 'development',
    JWT_SECRET: '',
    JWT_ISSUERS: JSON.stringify([{ issuer: provider.issuer, discovery: true, audience: AUDIENCE }]),
    UPSTREAM_URL: upstream.url,
    DPOP: 'true'
  })
  const config = await client.discovery(new URL(provider.issuer), CLIENT.id, undefined, client.ClientSecretPost(CLIENT.secret), { execute: [client.allowInsecureRequests] })
  const keyPair = await client.randomDPoPKeyPair('ES256')
  const dpop = client.getDPoPHandle(config, keyPair)
  const tokens = await client.clientCredentialsGrant(config, { resource: RESOURCE, scope: 'orders:read' }, { DPoP: dpop })
  t.equal(tokens.token_type.toLowerCase(), 'dpop', 'the provider issued a DPoP-bound token')
  const url = new URL(`${gw.url}/orders/42?expand=lines`)
  // The test stands where a TLS-terminating proxy would (TRUSTED_PROXIES): it names the origin the client used.
  const origin = new Headers({ 'x-forwarded-proto': 'http', 'x-forwarded-host': url.host })
  for (let i = 0; i < 3; i++) {
    const res = await client.fetchProtectedResource(config, tokens.access_token, url, 'GET', null, origin, { DPoP: dpop })
    t.equal(res.status, 200, `request ${i + 1}: allowed with a fresh proof`)
    await res.arrayBuffer()
  }
  t.equal(upstream.seen.at(-1)?.headers['x-token-binding'], 'dpop')
  t.equal(upstream.seen.at(-1)?.headers['x-user-issuer'], provider.issuer)

  const thief = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'))
  // openid-client reads the refusal's challenge and throws it.
  const stolen = await client.fetchProtectedResource(config, tokens.access_token, url, 'GET', null, origin, { DPoP: thief }).then(() => null, (err: unknown) => err)
  t.ok(stolen instanceof client.WWWAuthenticateChallengeError, 'the same token with another key is refused (RFC 9449 §6.1)')
  const challenge = (stolen as client.WWWAuthenticateChallengeError).cause[0]
  t.equal((stolen as client.WWWAuthenticateChallengeError).status, 401)
  t.equal(challenge.scheme, 'dpop')
  t.equal(challenge.parameters.error, 'invalid_dpop_proof')
  const bearer = await fetch(url, { headers: { authorization: `Bearer ${tokens.access_token}`, ...Object.fromEntries(origin) } })
  t.equal(bearer.status, 401, 'the same token as Bearer (RFC 9449 §7.2)')
})

t.test('RFC 9449 §9 end to end: openid-client retries with the nonce tokengate hands out', async (t) => {
  const provider = await startOpenIdProvider(t, { dpop: true })
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, {
    NODE_ENV: 'development',
    JWT_SECRET: '',
    JWT_ISSUERS: JSON.stringify([{ issuer: provider.issuer, discovery: true, audience: AUDIENCE }]),
    UPSTREAM_URL: upstream.url,
    DPOP: 'true',
    DPOP_NONCE: 'true',
    DPOP_NONCE_SECRET: 'a-nonce-secret-of-at-least-32-bytes-long!',
    METRICS_ON_MAIN_PORT: 'true'
  })
  const config = await client.discovery(new URL(provider.issuer), CLIENT.id, undefined, client.ClientSecretPost(CLIENT.secret), { execute: [client.allowInsecureRequests] })
  const dpop = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'))
  const tokens = await client.clientCredentialsGrant(config, { resource: RESOURCE, scope: 'orders:read' }, { DPoP: dpop })
  const url = new URL(`${gw.url}/orders/7`)
  const origin = new Headers({ 'x-forwarded-proto': 'http', 'x-forwarded-host': url.host })
  const first = await client.fetchProtectedResource(config, tokens.access_token, url, 'GET', null, origin, { DPoP: dpop }).catch((err: unknown) => err)
  // openid-client surfaces use_dpop_nonce as an error after remembering the nonce; the retry carries it.
  const res = first instanceof Response && first.status === 200
    ? first
    : await client.fetchProtectedResource(config, tokens.access_token, url, 'GET', null, origin, { DPoP: dpop })
  t.equal(res.status, 200)
  t.equal(valueOf(await scrape(gw.url), 'tokengate_dpop_failures_total', { reason: 'dpop_nonce' }), 1, 'the first proof had no nonce and was refused use_dpop_nonce')
})
