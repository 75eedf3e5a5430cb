import type { Socket } from 'node:net'
import type { Authenticator } from './auth/authenticator.js'
import type { Config } from './config/types.js'
import type { AccessPolicy } from './http/access-policy.js'
import type { RevocationChecker } from './revocation/checker.js'
import type { Revoker } from './revocation/revoker.js'
import type { RevocationStore } from './revocation/store.js'
import type { SecuritySink } from './security/sink.js'
import type { Claims } from './tokens/claims.js'
import type { TokenIssuer } from './tokens/issuer.js'

/** Everything built once at start-up and shared by the routes. */
export interface GatewayContext {
  readonly config: Config
  readonly store: RevocationStore
  readonly checker: RevocationChecker
  readonly revoker: Revoker
  readonly authenticator: Authenticator
  readonly policy: AccessPolicy
  /** Null when no signing key is configured (asymmetric keys without JWT_PRIVATE_KEY). */
  readonly issuer: TokenIssuer | null
  readonly isTrustedProxy: (socket: Socket) => boolean
  readonly security: SecuritySink
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Claims of the verified bearer token, set by the proxy or a route guard; null before (decorated in app.ts). */
    tokengateClaims: Claims | null
  }
}
