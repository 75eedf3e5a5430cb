/**
 * The JSON Schema of JWT_ISSUERS (draft-07), published as docs/issuers.schema.json (a test keeps
 * the two equal). The configuration-file issue extends it: refer to `#/definitions/issuer`.
 * Rules across keys (jwks_uri or discovery, https outside development, duplicates) are checked
 * in issuers.ts, with messages of their own.
 */
import { asymmetricAlgorithmsSchema, audienceSchema } from './schema-parts.js'

export const ISSUERS_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'JWT_ISSUERS',
  description: 'The identity providers whose access tokens tokengate accepts. Each entry needs exactly one of jwks_uri and discovery.',
  type: 'array',
  minItems: 1,
  items: { $ref: '#/definitions/issuer' },
  definitions: {
    url: { type: 'string', minLength: 1, maxLength: 2048, pattern: '^\\S+$' },
    claimPath: { type: 'string', minLength: 1, maxLength: 256, description: 'a claim name, or a dot path into nested claims (realm_access.roles); \\. is a dot inside a name' },
    issuer: {
      type: 'object',
      additionalProperties: false,
      required: ['issuer', 'audience'],
      properties: {
        issuer: { $ref: '#/definitions/url', description: 'the exact iss of its tokens and of its metadata: an https URL without query or fragment; a trailing / is part of it' },
        jwks_uri: { $ref: '#/definitions/url', description: 'its JWKS, https outside NODE_ENV=development' },
        discovery: {
          description: 'true (or "openid-configuration") for {issuer}/.well-known/openid-configuration, "oauth-authorization-server" for RFC 8414 metadata at the path-inserted well-known URL, or the metadata URL itself',
          anyOf: [
            { type: 'boolean' },
            { enum: ['openid-configuration', 'oauth-authorization-server'] },
            { type: 'string', pattern: '^[Hh][Tt][Tt][Pp][Ss]?://\\S+$', maxLength: 2048 }
          ]
        },
        audience: audienceSchema('the aud its tokens must carry for this API: a string, or a list of which a token must carry one'),
        algorithms: asymmetricAlgorithmsSchema('the signature algorithms accepted from it (default ["RS256"]); never HS* or none'),
        roles_claim: {
          description: 'where its roles are (default ["roles", "role"]): a claim path or a list of them',
          anyOf: [
            { $ref: '#/definitions/claimPath' },
            { type: 'array', minItems: 1, maxItems: 16, items: { $ref: '#/definitions/claimPath' } }
          ]
        },
        session_claim: {
          description: 'the claim naming its session (default "sid"); null for an issuer without sessions',
          anyOf: [{ type: 'string', minLength: 1, maxLength: 256 }, { type: 'null' }]
        },
        jti_claim: {
          description: 'the claim naming each token, its revocation id (default "jti"); null for an issuer whose tokens carry none: the id is then the SHA-256 of the token',
          anyOf: [{ type: 'string', minLength: 1, maxLength: 256 }, { type: 'null' }]
        },
        grants_admin: { type: 'boolean', description: 'whether its tokens may hold ADMIN_ROLE (default false)' },
        backchannel_logout: { $ref: '#/definitions/backchannelLogout' },
        global_token_revocation: { $ref: '#/definitions/globalTokenRevocation' }
      }
    },
    globalTokenRevocation: {
      type: 'object',
      additionalProperties: false,
      required: ['audience'],
      description: 'Global Token Revocation requests (draft-parecki-oauth-global-token-revocation, Okta Universal Logout) from this issuer to {AUTH_PREFIX}/global-token-revocation (docs/idp-revocation.md)',
      properties: {
        audience: { type: 'string', minLength: 1, maxLength: 2048, description: 'the aud its requests\' bearer JWTs carry: the endpoint\'s public URL; never an audience of access tokens' },
        algorithms: asymmetricAlgorithmsSchema('the algorithms of those JWTs (default: its ID-token algorithms from its metadata, else ["RS256"]); never HS* or none'),
        revokes: {
          description: 'the issuers (JWT_ISSUERS entries) whose users it may revoke; default: itself',
          type: 'array',
          minItems: 1,
          uniqueItems: true,
          items: { $ref: '#/definitions/url' }
        },
        email_is_sub: { type: 'boolean', description: 'tokens of those issuers carry the user\'s email as sub, so an email subject identifier maps onto it (default false: email subjects are refused)' }
      }
    },
    backchannelLogout: {
      type: 'object',
      additionalProperties: false,
      required: ['client_ids'],
      description: 'OpenID Connect Back-Channel Logout from this issuer to {AUTH_PREFIX}/backchannel-logout (docs/idp-revocation.md)',
      properties: {
        client_ids: {
          description: 'the client ids this API\'s applications have at the issuer: a logout token\'s aud must contain one',
          type: 'array',
          minItems: 1,
          uniqueItems: true,
          items: { type: 'string', minLength: 1, maxLength: 1024 }
        },
        relay_uri: { $ref: '#/definitions/url', description: 'the application\'s own back-channel logout URI: each validated logout token is POSTed on to it (https outside NODE_ENV=development)' },
        algorithms: asymmetricAlgorithmsSchema('the algorithms of its ID tokens and logout tokens (default: the metadata\'s id_token_signing_alg_values_supported, else ["RS256"]); never HS* or none')
      }
    }
  }
} as const
