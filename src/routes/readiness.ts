import type { ReplicaState } from '../revocation/replica-state.js'

/** A key set readiness waits for: loaded once, and asked to load again while it never was. */
export interface KeySource {
  readonly loadedOnce: boolean
  refresh: () => Promise<boolean>
}

/** A connection readiness waits for once, and only once (DPoP's replay guard): after that an outage is the guard's to answer (503 per request). */
export interface ConnectedOnce {
  readonly connectedOnce: boolean
}

export type ReadinessStatus = 'ready' | 'loading' | 'unavailable'

/** Out after the state was this many MAX_STALENESS_MS old, back once current (READY_FOLLOWS_STATE). */
export const OUT_AFTER_STALENESS = 3

/**
 * What /readyz says. Ready once this replica can decide: its complete
 * revocation state loaded once, every issuer's keys loaded once and, with
 * DPOP=true, the replay guard's own Redis connection up once (before it, every
 * DPoP request would be refused 503 DPOP_REPLAY_UNAVAILABLE). After
 * that an outage of a dependency every replica shares (Redis, an identity
 * provider's JWKS) degrades /admin/health, metrics and alerts, not readiness:
 * otherwise one outage would take every replica out of rotation at once, and
 * a replica keeps its last keys and state through it. Two exceptions: a
 * state that stopped following the log (a format this replica cannot read)
 * is unavailable, and with READY_FOLLOWS_STATE a state older than
 * OUT_AFTER_STALENESS × MAX_STALENESS_MS is unavailable until it is current
 * again (hysteresis: a state that flaps around the limit does not flap the
 * endpoints).
 */
export class Readiness {
  readonly #replica: ReplicaState
  readonly #keySets: readonly KeySource[]
  readonly #followsState: boolean
  readonly #connections: readonly ConnectedOnce[]
  #out = false

  constructor (replica: ReplicaState, keySets: readonly KeySource[], followsState: boolean, connections: readonly ConnectedOnce[] = []) {
    this.#replica = replica
    this.#keySets = keySets
    this.#followsState = followsState
    this.#connections = connections
  }

  get status (): ReadinessStatus {
    const replica = this.#replica
    if (replica.stopped !== null) return 'unavailable'
    let keysMissing = false
    for (const keySet of this.#keySets) {
      if (keySet.loadedOnce) continue
      keysMissing = true
      // Nothing else would fetch them: an unready replica gets no tokens. The cooldown bounds the fetches.
      keySet.refresh().catch(() => {})
    }
    if (!replica.loaded || keysMissing || !this.#connections.every((connection) => connection.connectedOnce)) return 'loading'
    if (!this.#followsState) return 'ready'
    const staleness = replica.stalenessMs
    if (this.#out) this.#out = staleness > replica.maxStalenessMs
    else this.#out = staleness > OUT_AFTER_STALENESS * replica.maxStalenessMs
    return this.#out ? 'unavailable' : 'ready'
  }
}
