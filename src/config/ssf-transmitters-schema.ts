/**
 * The JSON Schema of SSF_TRANSMITTERS (draft-07), published as docs/ssf-transmitters.schema.json
 * (a test keeps the two equal). Rules across keys (jwks_uri or metadata, https outside
 * development, push or poll, the trusted issuer named) are checked in ssf-transmitters.ts.
 */
import { asymmetricAlgorithmsSchema, audienceSchema } from './schema-parts.js'

export const SSF_TRANSMITTERS_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'SSF_TRANSMITTERS',
  description: 'The Shared Signals transmitters whose security event tokens (SETs) tokengate receives. Each entry needs jwks_uri or metadata, and push or poll delivery (or both).',
  type: 'array',
  minItems: 1,
  items: { $ref: '#/definitions/transmitter' },
  definitions: {
    url: { type: 'string', minLength: 1, maxLength: 2048, pattern: '^\\S+$' },
    secret: { type: 'string', minLength: 1, maxLength: 4096 },
    transmitter: {
      type: 'object',
      additionalProperties: false,
      required: ['issuer', 'audience', 'delivery'],
      properties: {
        issuer: { $ref: '#/definitions/url', description: 'the exact iss of its SETs and of its SSF metadata (a trailing / is part of it)' },
        jwks_uri: { $ref: '#/definitions/url', description: 'its JWKS, https outside NODE_ENV=development' },
        metadata: {
          description: 'true for {issuer}/.well-known/ssf-configuration (SSF 1.0 §6.2.1), or the metadata URL itself; its issuer must equal this entry\'s exactly',
          anyOf: [{ type: 'boolean' }, { type: 'string', pattern: '^[Hh][Tt][Tt][Pp][Ss]?://\\S+$', maxLength: 2048 }]
        },
        audience: audienceSchema('the aud its SETs must carry: a string, or a list of which a SET must carry one'),
        algorithms: asymmetricAlgorithmsSchema('the signature algorithms accepted from it (default ["RS256", "ES256"]); asymmetric only'),
        revokes: { type: 'string', minLength: 1, maxLength: 2048, description: 'the JWT_ISSUERS issuer whose tokens its revocations apply to; may be omitted when one issuer is trusted' },
        subjects: {
          type: 'object',
          additionalProperties: false,
          description: 'how its subjects map onto tokens',
          properties: {
            user_formats: {
              description: 'the RFC 9493 formats whose identifier is the token\'s sub (default ["iss_sub", "opaque"]); a subject in another format cannot be mapped: refused and alerted',
              type: 'array',
              uniqueItems: true,
              items: { enum: ['iss_sub', 'email', 'opaque', 'phone_number', 'account', 'did', 'uri'] }
            },
            iss_sub_issuers: {
              description: 'the iss accepted in an iss_sub subject (default: the revoked issuer and the transmitter)',
              type: 'array',
              minItems: 1,
              items: { type: 'string', minLength: 1, maxLength: 2048 }
            }
          }
        },
        delivery: {
          type: 'object',
          additionalProperties: false,
          description: 'push (RFC 8935), poll (RFC 8936), or both',
          properties: {
            push: {
              type: 'object',
              additionalProperties: false,
              required: ['authorization'],
              properties: {
                authorization: { $ref: '#/definitions/secret', description: 'the exact Authorization header value the transmitter sends (at least 32 characters); never logged' },
                endpoint_url: { $ref: '#/definitions/url', description: 'tokengate\'s {AUTH_PREFIX}/ssf/events as the transmitter reaches it: given to the transmitter when the stream is managed' }
              }
            },
            poll: {
              type: 'object',
              additionalProperties: false,
              properties: {
                endpoint: { $ref: '#/definitions/url', description: 'its RFC 8936 poll endpoint; default: the one the managed stream names' },
                max_events: { type: 'integer', minimum: 1, maximum: 1000, description: 'maxEvents per poll (default 100)' },
                wait_s: { type: 'integer', minimum: 0, maximum: 300, description: 'how long the transmitter may hold a long poll (default 30; 0: returnImmediately)' }
              }
            }
          }
        },
        authorization: {
          description: 'how tokengate authenticates to its poll endpoint and management API: { bearer } or { client_credentials: { token_endpoint, client_id, client_secret, scope? } }',
          anyOf: [
            { type: 'object', additionalProperties: false, required: ['bearer'], properties: { bearer: { $ref: '#/definitions/secret' } } },
            {
              type: 'object',
              additionalProperties: false,
              required: ['client_credentials'],
              properties: {
                client_credentials: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['token_endpoint', 'client_id', 'client_secret'],
                  properties: {
                    token_endpoint: { $ref: '#/definitions/url' },
                    client_id: { type: 'string', minLength: 1, maxLength: 512 },
                    client_secret: { $ref: '#/definitions/secret' },
                    scope: { type: 'string', minLength: 1, maxLength: 1024 }
                  }
                }
              }
            }
          ]
        },
        stream: {
          type: 'object',
          additionalProperties: false,
          description: 'stream management through its configuration_endpoint (SSF 1.0 §7.1)',
          properties: {
            manage: { type: 'boolean', description: 'create the stream at start-up, or check the one there (default false)' },
            events_requested: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', minLength: 1, maxLength: 512 }, description: 'default: every event type tokengate acts on' }
          }
        }
      }
    }
  }
} as const
