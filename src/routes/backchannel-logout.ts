import { refuseIdpMessage } from './idp-refusal.js'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { Counter } from 'prom-client'
import { Failures, type Failure } from '../errors.js'
import type { IdpRevoker } from '../idp/idp-revoker.js'
import type { LogoutClaims, LogoutIssuer, LogoutVerdict } from '../idp/logout-token.js'
import { relayLogoutToken } from '../idp/logout-relay.js'
import type { ReplayGuard } from '../idp/replay-guard.js'
import type { AlertType } from '../security/alert.js'
import type { AlertFacts } from '../security/monitor.js'
import { sendFailure } from '../server/failure-reply.js'

export interface BackchannelLogoutOptions {
  readonly authPrefix: string
  readonly verify: (token: string) => Promise<LogoutVerdict>
  readonly replayGuard: ReplayGuard
  readonly idpRevoker: IdpRevoker
  readonly clockToleranceS: number
  readonly relayTimeoutMs: number
  readonly raise: (type: AlertType, subject: string, facts: AlertFacts) => Promise<void>
  readonly metrics: {
    readonly idpMessages: Pick<Counter<'source' | 'result'>, 'inc'>
    readonly idpRelays: Pick<Counter<'result'>, 'inc'>
  }
}

const SOURCE = 'backchannel_logout'
const FORM = 'application/x-www-form-urlencoded'

/**
 * OpenID Connect Back-Channel Logout 1.0 receiver: `POST {AUTH_PREFIX}/backchannel-logout`
 * with a form `logout_token`. §2.6 validation (logout-token.ts), the jti claimed once in the
 * replay cache shared by every replica (step 8), then the session (`sid`) or, with only `sub`,
 * every token of the user is revoked (§2.7) through the IdP revoker. §2.8: 200 with
 * Cache-Control: no-store once stored; 400 with an OAuth error body for an invalid token;
 * 503 (Retry-After) while the revocation is enforced here but not yet stored
 * (docs/idp-revocation.md, "Retry queue and alerts").
 */
export const backchannelLogoutRoutes: FastifyPluginAsync<BackchannelLogoutOptions> = async (app, options) => {
  const { verify, replayGuard, idpRevoker, metrics } = options

  const refused = (reply: FastifyReply, failure: Failure, issuer: LogoutIssuer | null): FastifyReply =>
    refuseIdpMessage(options, SOURCE, 'back-channel logout', reply, failure, issuer?.issuer ?? null)

  async function relay (issuer: LogoutIssuer, token: string, request: FastifyRequest): Promise<void> {
    if (issuer.relayUri === null) return
    const result = await relayLogoutToken(issuer.relayUri, token, options.relayTimeoutMs)
    metrics.idpRelays.inc({ result })
    if (result !== 'delivered') request.log.warn({ result, issuer: issuer.issuer, relay: issuer.relayUri.origin + issuer.relayUri.pathname }, 'logout token not relayed to the application')
  }

  /** Step 8, with the cache every replica shares; null when it cannot tell (Redis down). */
  async function firstSeen (claims: LogoutClaims): Promise<boolean | null> {
    try {
      return await replayGuard.claim(`${SOURCE}\n${claims.iss}`, claims.jti, claims.exp + options.clockToleranceS)
    } catch {
      return null
    }
  }

  app.post<{ Body: { logout_token?: unknown } }>(`${options.authPrefix}/backchannel-logout`, async (request, reply) => {
    reply.header('cache-control', 'no-store')
    if (request.headers['content-type']?.split(';')[0]?.trim().toLowerCase() !== FORM) return refused(reply, Failures.MEDIA_TYPE_UNSUPPORTED, null)
    const token = (request.body as { logout_token?: unknown } | null)?.logout_token
    if (typeof token !== 'string' || token === '') return refused(reply, Failures.LOGOUT_TOKEN_MISSING, null)
    const verdict = await verify(token)
    if (!verdict.ok) return refused(reply, verdict.failure, verdict.issuer)
    const { claims, issuer } = verdict
    const first = await firstSeen(claims)
    if (first === false) return refused(reply, Failures.LOGOUT_TOKEN_REPLAYED, issuer)
    // Revoking is idempotent: a logout the cache could not check (null) is enforced all the same, and answered "try again".
    const result = await idpRevoker.enforce({
      source: SOURCE,
      kind: claims.sid !== null ? 'session' : 'user',
      issuer: claims.iss,
      id: claims.sid ?? claims.sub ?? '',
      subject: claims.sub,
      event: 'logout',
      requestId: request.id,
      ip: request.ip
    })
    await relay(issuer, token, request)
    if (result.outcome !== 'stored' || first === null) {
      metrics.idpMessages.inc({ source: SOURCE, result: 'queued' })
      return sendFailure(reply, Failures.STORE_UNAVAILABLE)
    }
    metrics.idpMessages.inc({ source: SOURCE, result: 'accepted' })
    return reply.code(200).send()
  })
}
