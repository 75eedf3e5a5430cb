import type { FastifyError, FastifyInstance, FastifyServerOptions } from 'fastify'
import { Failures, GatewayError, withDescription, type Failure } from '../errors.js'
import { sendFailure } from './failure-reply.js'
import { LineBudget } from './line-budget.js'

function failureFor (error: FastifyError): Failure {
  if (error instanceof GatewayError) return error.failure
  const status = error.statusCode ?? 500
  if (status === 413) return Failures.BODY_TOO_LARGE
  if (status === 415) return Failures.MEDIA_TYPE_UNSUPPORTED
  if (status === 429) return Failures.RATE_LIMITED
  // Schema messages name the field and the rule, never the value sent.
  if (error.validation !== undefined) return withDescription(Failures.BAD_REQUEST, error.message)
  if (status >= 400 && status < 500) return Failures.BAD_REQUEST
  return Failures.INTERNAL
}

// An operational 5xx (the store or the upstream unavailable) repeats for every request of an
// outage, whose cause its connection logs once: one line per reason per 10 s, with a count.
const OPERATIONAL_LINES_PER_10_S = 1

/** Every error leaves as an OAuth-style body; details go to the log, never to the client. */
export function installErrorHandlers (app: FastifyInstance): void {
  const operational = new LineBudget({ lines: OPERATIONAL_LINES_PER_10_S, windowMs: 10_000 })
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const failure = failureFor(error)
    if (failure === Failures.INTERNAL) {
      request.log.error({ err: error }, 'request failed')
    } else if (failure.status >= 500) {
      const suppressed = operational.take(failure.reason)
      if (suppressed !== -1) request.log.warn({ reason: failure.reason, err: (error.cause as Error | undefined)?.message, suppressed }, 'request failed: a dependency is unavailable')
    } else {
      request.log.debug({ code: error.code, reason: failure.reason }, 'request refused')
    }
    return sendFailure(reply, failure)
  })
  app.setNotFoundHandler((_request, reply) => sendFailure(reply, Failures.NOT_FOUND))
}

/**
 * Fastify's own refusals before routing (a path that is not valid
 * percent-encoding, a bad constraint): our body, not Fastify's, which echoes the URL.
 */
export const frameworkErrors: NonNullable<FastifyServerOptions['frameworkErrors']> = (error, request, reply) => {
  request.log.debug({ code: error.code }, 'request refused before routing')
  return sendFailure(reply, Failures.BAD_REQUEST)
}
