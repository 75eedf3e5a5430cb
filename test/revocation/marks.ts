import type { Clock, RevocationStore } from '../../src/revocation/store.js'
import { nowSeconds } from '../../src/revocation/store.js'

/**
 * Writes revocations straight to a store, each event built as the Revoker
 * builds it, for `issuer` ('': tokens without `iss`), expiring `ttlS` after `now`.
 */
export function marks (store: Pick<RevocationStore, 'write'>, now: Clock = Date.now, issuer = '') {
  const at = (ttlS: number): number => nowSeconds(now) + ttlS
  return {
    token: async (id: string, ttlS: number): Promise<boolean> => await store.write({ kind: 'jti', id, issuer, expiresAt: at(ttlS) }),
    session: async (id: string, ttlS: number): Promise<boolean> => await store.write({ kind: 'session', id, issuer, expiresAt: at(ttlS) }),
    user: async (id: string, before: number, ttlS: number): Promise<boolean> => await store.write({ kind: 'user', id, issuer, before, expiresAt: at(ttlS) }),
    everyone: async (before: number, ttlS: number): Promise<boolean> => await store.write({ kind: 'global', issuer, before, expiresAt: at(ttlS) })
  }
}
