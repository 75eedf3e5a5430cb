import * as client from 'openid-client'
import t, { type Test } from 'tap'
import { startGateway, type Gateway, type GatewayOptions } from '../helpers/gateway.js'
import { freePort } from '../helpers/redis.js'
import { AUDIENCE, CLIENT, RESOURCE, startOpenIdProvider, type OpenIdProvider } from '../helpers/oidc-provider.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { scrape, valueOf } from '../helpers/scrape.js'
import { steppingClock } from '../helpers/clock.js'
import { NONCE_STEP_S } from '../../src/decision/dpop-nonce.js'

/**
 * The whole chain with real software: panva's oidc-provider issues a DPoP-bound JWT access token
 * (RFC 9449 §5, §6: cnf.jkt) to openid-client, whose DPoP handle then calls an API through
 * tokengate in proxy mode, a new proof per request (§4, §7.1).
 */
interface Chain { readonly provider: OpenIdProvider, readonly upstream: Upstream, readonly gw: Gateway }

/**
 * oidc-provider, an upstream, and tokengate in proxy mode trusting the provider, with DPoP on. The
 * gateway's port is chosen first: DPOP_ORIGINS is the origin the client reaches it at, which
 * openid-client's proofs name.
 */
async function chain (t: Test, env: Record<string, string> = {}, options: GatewayOptions = {}): Promise<Chain> {
  const provider = await startOpenIdProvider(t, { dpop: true })
  const upstream = await startUpstream(t)
  const port = await freePort()
  const gw = await startGateway(t, {
    NODE_ENV: 'development',
    JWT_SECRET: '',
    JWT_ISSUERS: JSON.stringify([{ issuer: provider.issuer, discovery: true, audience: AUDIENCE }]),
    UPSTREAM_URL: upstream.url,
    DPOP: 'true',
    PORT: String(port),
    DPOP_ORIGINS: `http://127.0.0.1:${port}`,
    ...env
  }, options)
  return { provider, upstream, gw }
}

const NONCES = { DPOP_NONCE: 'true', DPOP_NONCE_SECRET: 'a-nonce-secret-of-at-least-32-bytes-long!', METRICS_ON_MAIN_PORT: 'true' }

t.test('RFC 9449 end to end: openid-client\'s DPoP calls an API through tokengate with a token from oidc-provider', async (t) => {
  const { provider, upstream, gw } = await chain(t)
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
  const { provider, gw } = await chain(t, NONCES)
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

t.test('RFC 9449 §8.2 end to end: openid-client follows the DPoP-Nonce of successful answers across step boundaries, one use_dpop_nonce in all', async (t) => {
  const clock = steppingClock(NONCE_STEP_S * 1000)
  // openid-client's proofs carry real time; the gateway's clock runs up to two steps ahead.
  const { provider, gw } = await chain(t, { ...NONCES, DPOP_PROOF_MAX_AGE_S: '300' }, { now: clock.now })
  const config = await client.discovery(new URL(provider.issuer), CLIENT.id, undefined, client.ClientSecretPost(CLIENT.secret), { execute: [client.allowInsecureRequests] })
  const dpop = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'))
  const tokens = await client.clientCredentialsGrant(config, { resource: RESOURCE, scope: 'orders:read' }, { DPoP: dpop })
  const url = new URL(`${gw.url}/orders/7`)
  const origin = new Headers({ 'x-forwarded-proto': 'http', 'x-forwarded-host': url.host })
  const get = async (): Promise<Response> => await client.fetchProtectedResource(config, tokens.access_token, url, 'GET', null, origin, { DPoP: dpop })
  // The first call: use_dpop_nonce, which openid-client remembers (and throws, or retries).
  const first = await get().catch(() => null)
  if (first === null) t.equal((await get()).status, 200, 'the retry carries the nonce')
  const nonces: string[] = []
  for (let step = 0; step < 3; step++) {
    clock.cross()
    for (let i = 0; i < 2; i++) {
      const res = await get()
      t.equal(res.status, 200, `step ${step + 1}, request ${i + 1}: allowed, no use_dpop_nonce`)
      const nonce = res.headers.get('dpop-nonce')
      if (i === 0) t.ok(nonce !== null, 'the first answer of a step hands out its nonce')
      else t.equal(nonce, null, 'openid-client took it: the next proof carries the current nonce')
      if (nonce !== null) nonces.push(nonce)
      await res.arrayBuffer()
    }
  }
  t.equal(new Set(nonces).size, 3, 'one new nonce per step')
  t.equal(valueOf(await scrape(gw.url), 'tokengate_dpop_failures_total', { reason: 'dpop_nonce' }), 1, 'use_dpop_nonce once, at the very first request')
})
