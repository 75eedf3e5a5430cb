import type { FastifyReply } from 'fastify'
import type { Counter } from 'prom-client'
import type { Failure } from '../errors.js'
import type { AlertType } from '../security/alert.js'
import type { AlertFacts } from '../security/monitor.js'
import { issuerKey } from '../security/sink.js'
import { sendFailure } from '../server/failure-reply.js'

export interface IdpRefusalDeps {
  readonly raise: (type: AlertType, subject: string, facts: AlertFacts) => Promise<void>
  readonly metrics: { readonly idpMessages: Pick<Counter<'source' | 'result'>, 'inc'> }
}

/**
 * A message from an identity provider refused (a logout token, a revocation request): counted
 * by source and reason, answered from the registry, and alerted (once per issuer and reason per
 * hour) when it named a configured issuer: that is the issuer's business, or a forgery in its name.
 */
export function refuseIdpMessage (deps: IdpRefusalDeps, source: string, what: string, reply: FastifyReply, failure: Failure, issuer: string | null): FastifyReply {
  deps.metrics.idpMessages.inc({ source, result: failure.reason })
  if (issuer !== null) {
    deps.raise('invalid_idp_message', issuerKey(issuer, failure.reason), {
      iss: issuer,
      detail: `${what} naming issuer "${issuer}" refused: ${failure.description}`
    }).catch(() => {})
  }
  return sendFailure(reply, failure)
}
