import type { Authenticator } from './decision/authenticator.js'
import type { IdpRevoker } from './idp/idp-revoker.js'
import type { ReplayGuard } from './idp/replay-guard.js'
import type { RevocationChecker } from './revocation/checker.js'
import type { ReplicaState } from './revocation/replica-state.js'
import type { Revoker } from './revocation/revoker.js'
import type { RevocationStore } from './revocation/store.js'
import type { MonitoringSink } from './security/monitoring-sink.js'
import type { SsfService } from './ssf/ssf-service.js'
import type { Claims } from './tokens/claims.js'
import type { TokenIssuer } from './tokens/issuer.js'

/**
 * The services built once at start-up, for whoever holds the app (server.ts,
 * tests). Routes and plugins do not read it: each receives the fields it uses.
 */
export interface GatewayServices {
  readonly store: RevocationStore
  readonly replica: ReplicaState
  readonly checker: RevocationChecker
  readonly revoker: Revoker
  readonly authenticator: Authenticator
  /** Null when no signing key is configured (asymmetric keys without JWT_PRIVATE_KEY). */
  readonly issuer: TokenIssuer | null
  readonly security: MonitoringSink
  /** Revocations pushed by identity providers (src/idp/): enforced at once, written with a retry queue. */
  readonly idpRevoker: IdpRevoker
  /** One-time ids (logout token, SET and DPoP proof jtis), shared by every replica through Redis. */
  readonly replayGuard: ReplayGuard
  /** The Shared Signals receiver (SSF_TRANSMITTERS); null without it. */
  readonly ssf: SsfService | null
}

declare module 'fastify' {
  interface FastifyInstance {
    tokengate: GatewayServices
  }
  interface FastifyRequest {
    /** Claims of the verified bearer token, set by the proxy or a route guard; null before (decorated in app.ts). */
    tokengateClaims: Claims | null
  }
}
