import { createHash, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import Provider from 'oidc-provider'

interface Teardown { teardown: (fn: () => unknown) => void }

export interface OpenIdProvider {
  /** `http://127.0.0.1:PORT` (plain http: tokengate accepts it with NODE_ENV=development only). */
  readonly issuer: string
  /** A JWT access token (RFC 9068) for the client, from the client credentials grant. */
  accessToken: () => Promise<string>
}

export const CLIENT = { id: 'orders-client', secret: 'orders-client-secret-that-is-long-enough' }
export const RESOURCE = 'https://orders.example.com'
export const AUDIENCE = 'orders-api'

async function listen (server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  return typeof address === 'object' && address !== null ? address.port : 0
}

/**
 * panva's oidc-provider on a loopback port (`dpop`: with its DPoP feature): client credentials, JWT access tokens for RESOURCE
 * with aud AUDIENCE, signed RS256 under `kid`, carrying `roles` (the same kid in two providers
 * is a test of key separation). `key`: its RSA private key (a test that forges with it passes
 * one); `claims`: more claims in every access token.
 */
export async function startOpenIdProvider (t: Teardown, { kid = 'provider-key', roles = [] as string[], key: privateKey = undefined as KeyObject | undefined, claims = {} as Record<string, unknown>, dpop = false } = {}): Promise<OpenIdProvider> {
  const server = createServer()
  const port = await listen(server)
  const issuer = `http://127.0.0.1:${port}`
  const key = (privateKey ?? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey).export({ format: 'jwk' })
  const provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT.id,
      client_secret: CLIENT.secret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_post'
    }],
    jwks: { keys: [{ ...key, kid, alg: 'RS256', use: 'sig' }] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // RFC 9449: a token request with a DPoP proof gets an access token bound to its key (cnf.jkt).
      dPoP: { enabled: dpop },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({ scope: 'orders:read', audience: AUDIENCE, accessTokenTTL: 300, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } })
      }
    },
    ttl: { ClientCredentials: 300 },
    extraTokenClaims: () => ({ roles, ...claims })
  })
  server.on('request', provider.callback())
  t.teardown(() => { server.closeAllConnections(); server.close() })
  return {
    issuer,
    async accessToken () {
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: CLIENT.id, client_secret: CLIENT.secret, resource: RESOURCE, scope: 'orders:read' })
      })
      const body = await res.json() as { access_token?: string, error?: string, error_description?: string }
      if (body.access_token === undefined) throw new Error(`token request failed: ${res.status} ${body.error ?? ''} ${body.error_description ?? ''}`)
      return body.access_token
    }
  }
}

export interface LogoutProvider {
  readonly issuer: string
  /** The provider's signing key (RS256, kid LOGOUT_KID): the test signs the session's access tokens with it. */
  readonly privateKey: KeyObject
  /**
   * The provider sends a back-channel logout for (sub, sid) to `clientId`'s registered URI, with
   * the code end_session runs for each client of an ended session (Client#backchannelLogout);
   * resolves once the receiver answered 200 or 204, rejects otherwise.
   */
  logout: (sub: string, sid: string, clientId?: string) => Promise<void>
  /**
   * A user signs in to BROWSER_CLIENT through the provider's own pages (authorization code
   * flow, its development login and consent forms); resolves with the session id its ID token
   * names and a way to end that session at the provider (RP-initiated logout, confirmed as a
   * browser would), which sends the back-channel logout.
   */
  signIn: (sub: string) => Promise<{ readonly sid: string, readonly endSession: () => Promise<void> }>
}

export const LOGOUT_KID = 'logout-provider-key'
/** A client that requires sid in its logout tokens, and one that does not (sub only). */
export const SESSION_CLIENT = 'web-app'
export const SUBJECT_CLIENT = 'legacy-app'
/** A client signing users in through the browser (authorization code), sid required in its logout tokens. */
export const BROWSER_CLIENT = 'browser-app'
const BROWSER_REDIRECT = 'http://127.0.0.1:9/callback'

/** The cookies of one browser: every Set-Cookie kept by name and sent back on every request (paths ignored). */
class CookieJar {
  readonly #cookies = new Map<string, string>()
  take (res: Response): Response {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';')
      const eq = pair.indexOf('=')
      this.#cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1))
    }
    return res
  }

  get header (): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }
}

/**
 * panva's oidc-provider with `features.backchannelLogout` and two clients whose
 * back-channel logout URI is `logoutUri` (tokengate's): SESSION_CLIENT requires
 * sid, SUBJECT_CLIENT sends sub only.
 */
export async function startLogoutProvider (t: Teardown, logoutUri: string): Promise<LogoutProvider> {
  const server = createServer()
  const port = await listen(server)
  const issuer = `http://127.0.0.1:${port}`
  const privateKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
  const client = (id: string, sessionRequired: boolean): Record<string, unknown> => ({
    client_id: id,
    client_secret: `${id}-secret-that-is-long-enough-for-hs256`,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    token_endpoint_auth_method: 'client_secret_post',
    backchannel_logout_uri: logoutUri,
    backchannel_logout_session_required: sessionRequired
  })
  const provider = new Provider(issuer, {
    clients: [client(SESSION_CLIENT, true), client(SUBJECT_CLIENT, false), {
      ...client(BROWSER_CLIENT, true),
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: [BROWSER_REDIRECT],
      post_logout_redirect_uris: [BROWSER_REDIRECT]
    }],
    jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: LOGOUT_KID, alg: 'RS256', use: 'sig' }] },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      backchannelLogout: { enabled: true }
    },
    findAccount: async (_ctx: unknown, id: string) => ({ accountId: id, claims: async () => ({ sub: id }) }),
    // Its SSRF guard refuses loopback receivers, which every receiver in these tests is.
    fetch: async (url: string, { dispatcher: _guard, ...options }: RequestInit & { dispatcher?: unknown }) => await fetch(url, options)
  })
  server.on('request', provider.callback())
  t.teardown(() => { server.closeAllConnections(); server.close() })
  return {
    issuer,
    privateKey,
    async logout (sub, sid, clientId = SESSION_CLIENT) {
      const found = await provider.Client.find(clientId)
      if (found === undefined) throw new Error(`no client ${clientId}`)
      await found.backchannelLogout(sub, sid)
    },
    async signIn (sub) {
      const jar = new CookieJar()
      const go = async (url: string, init: RequestInit = {}): Promise<Response> => jar.take(await fetch(new URL(url, issuer), {
        ...init,
        redirect: 'manual',
        headers: { ...(init.headers as Record<string, string> | undefined), cookie: jar.header }
      }))
      const form = (fields: Record<string, string>): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() })
      const verifier = randomBytes(32).toString('base64url')
      const challenge = createHash('sha256').update(verifier).digest('base64url')
      let res = await go(`/auth?${new URLSearchParams({ client_id: BROWSER_CLIENT, response_type: 'code', scope: 'openid', redirect_uri: BROWSER_REDIRECT, code_challenge: challenge, code_challenge_method: 'S256', nonce: randomBytes(8).toString('hex') })}`)
      // Login, then consent, each answered on the provider's development forms, until it redirects back with a code.
      for (const prompt of ['login', 'consent']) {
        const interaction = res.headers.get('location') ?? ''
        res = await go(interaction, form({ prompt, login: sub, password: 'any' }))
        res = await go(res.headers.get('location') ?? '')
      }
      const code = new URL(res.headers.get('location') ?? '', issuer).searchParams.get('code')
      if (code === null) throw new Error(`no code: ${res.status} ${res.headers.get('location') ?? ''}`)
      const tokens = await (await go('/token', form({ grant_type: 'authorization_code', code, redirect_uri: BROWSER_REDIRECT, code_verifier: verifier, client_id: BROWSER_CLIENT, client_secret: `${BROWSER_CLIENT}-secret-that-is-long-enough-for-hs256` }))).json() as { id_token?: string }
      if (tokens.id_token === undefined) throw new Error('no id_token')
      const sid = (JSON.parse(Buffer.from(tokens.id_token.split('.')[1], 'base64url').toString()) as { sid?: string }).sid
      if (sid === undefined) throw new Error('the ID token names no session')
      return {
        sid,
        async endSession () {
          const page = await (await go(`/session/end?client_id=${BROWSER_CLIENT}`)).text()
          const xsrf = /name="xsrf" value="([^"]+)"/.exec(page)?.[1]
          if (xsrf === undefined) throw new Error('no logout form')
          const confirmed = await go('/session/end/confirm', form({ xsrf, logout: 'yes' }))
          if (confirmed.status >= 400) throw new Error(`end session: ${confirmed.status}`)
        }
      }
    }
  }
}
