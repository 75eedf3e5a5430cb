import type { FastifyInstance } from 'fastify'

/**
 * The body schema of every route that takes one: a JSON or form object and
 * nothing else. `null`, arrays, numbers and strings are 400 invalid_request
 * before a handler reads a field (a `null` body once reached one and was a 500).
 */
export function objectBody (properties: Record<string, object>, required: readonly string[] = []): { body: object } {
  return { body: { type: 'object', properties, required } }
}

/** A request without a body is validated as `{}`: only a body that was sent must be an object. */
export function treatMissingBodyAsEmpty (app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined) request.body = {}
  })
}
