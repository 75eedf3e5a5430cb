import { refuseIdpMessage } from './idp-refusal.js'
import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import type { Counter } from 'prom-client'
import { bearerToken } from '../decision/bearer.js'
import { Failures, isFailure, type Failure } from '../errors.js'
import { subjectTargets, type CallerVerdict, type RevocationCaller } from '../idp/global-revocation.js'
import type { IdpRevoker } from '../idp/idp-revoker.js'
import type { ReplayGuard } from '../idp/replay-guard.js'
import type { AlertType } from '../security/alert.js'
import type { AlertFacts } from '../security/monitor.js'
import { sendFailure } from '../server/failure-reply.js'

export interface GlobalTokenRevocationOptions {
  readonly authPrefix: string
  readonly maxTokenBytes: number
  readonly verifyCaller: (token: string) => Promise<CallerVerdict>
  readonly replayGuard: ReplayGuard
  readonly idpRevoker: IdpRevoker
  readonly clockToleranceS: number
  readonly raise: (type: AlertType, subject: string, facts: AlertFacts) => Promise<void>
  readonly metrics: { readonly idpMessages: Pick<Counter<'source' | 'result'>, 'inc'> }
}

const SOURCE = 'global_token_revocation'

/**
 * Global Token Revocation (draft-parecki-oauth-global-token-revocation-06, an expired individual
 * draft; what Okta Universal Logout sends): `POST {AUTH_PREFIX}/global-token-revocation`, a JSON
 * `sub_id` (RFC 9493), authenticated by a bearer JWT of a configured issuer (global-revocation.ts).
 * Every token of the subject issued until now is revoked. §3.4: 204 once stored; 400 a subject
 * that is malformed or cannot be mapped; 401 the bearer JWT; 403 a subject of an issuer the caller
 * may not revoke; 503 (Retry-After) while enforced here but not stored. Never 404: tokengate
 * keeps no user directory, and revoking an unknown subject is harmless.
 */
export const globalTokenRevocationRoutes: FastifyPluginAsync<GlobalTokenRevocationOptions> = async (app, options) => {
  const { verifyCaller, replayGuard, idpRevoker, metrics } = options

  const refused = (reply: FastifyReply, failure: Failure, caller: RevocationCaller | null): FastifyReply =>
    refuseIdpMessage(options, SOURCE, 'global token revocation request', reply, failure, caller?.issuer ?? null)

  app.post(`${options.authPrefix}/global-token-revocation`, async (request, reply) => {
    reply.header('cache-control', 'no-store')
    const token = bearerToken(request.headers.authorization, options.maxTokenBytes)
    if (isFailure(token)) return refused(reply, token, null)
    const verdict = await verifyCaller(token)
    if (!verdict.ok) return refused(reply, verdict.failure, verdict.caller)
    const { caller } = verdict
    // §3.2: application/json; the subject is checked before the jti is spent, so a corrected request may reuse its JWT.
    if (request.headers['content-type']?.split(';')[0]?.trim().toLowerCase() !== 'application/json') return refused(reply, Failures.MEDIA_TYPE_UNSUPPORTED, caller)
    const subject = subjectTargets(caller, request.body)
    if (!subject.ok) return refused(reply, subject.failure, caller)
    let first: boolean | null
    try {
      first = await replayGuard.claim(`${SOURCE}\n${caller.issuer}`, verdict.jti, verdict.exp + options.clockToleranceS)
    } catch {
      first = null
    }
    if (first === false) return refused(reply, Failures.REVOCATION_REQUEST_REPLAYED, caller)
    const results = await Promise.all(subject.targets.map(async ({ issuer, sub }) => await idpRevoker.enforce({
      source: SOURCE,
      kind: 'user',
      issuer,
      id: sub,
      event: subject.format,
      requestId: request.id,
      ip: request.ip
    })))
    if (first === null || results.some(({ outcome }) => outcome !== 'stored')) {
      metrics.idpMessages.inc({ source: SOURCE, result: 'queued' })
      return sendFailure(reply, Failures.STORE_UNAVAILABLE)
    }
    metrics.idpMessages.inc({ source: SOURCE, result: 'accepted' })
    return reply.code(204).send()
  })
}
