import { ASYMMETRIC_ALGORITHMS } from '../tokens/algorithms.js'

// JSON Schema fragments shared by the JWT_ISSUERS and SSF_TRANSMITTERS schemas: one definition of
// what an audience and an identity provider's signature algorithm may be.

/** An aud: one string, or a list of which a JWT must carry one. */
export function audienceSchema (description: string): object {
  return {
    description,
    anyOf: [
      { type: 'string', minLength: 1, maxLength: 1024 },
      { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', minLength: 1, maxLength: 1024 } }
    ]
  }
}

/** A list of asymmetric signature algorithms (never HS* or none), from src/tokens/algorithms.ts. */
export function asymmetricAlgorithmsSchema (description: string): object {
  return { description, type: 'array', minItems: 1, uniqueItems: true, items: { enum: [...ASYMMETRIC_ALGORITHMS] } }
}
