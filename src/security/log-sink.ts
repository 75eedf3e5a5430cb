import type { FastifyBaseLogger } from 'fastify'
import { cutJti, type AuditEntry, type RequestFacts, type SecuritySink } from './sink.js'

/** Writes security events as structured log lines (no chain, no thresholds). */
export class LogSecuritySink implements SecuritySink {
  readonly #log: FastifyBaseLogger

  constructor (log: FastifyBaseLogger) {
    this.#log = log.child({ component: 'security' })
  }

  audit (entry: AuditEntry): void {
    this.#log.info({ audit: { ...entry, jti: cutJti(entry.jti), timestamp: new Date().toISOString() } }, entry.event_type)
  }

  allowed (_sub: string, _jti: string, _facts: RequestFacts): void {}

  denied (reason: string, sub: string | null, jti: string | null, facts: RequestFacts): void {
    if (reason === 'revoked') this.#log.warn({ sub, jti: cutJti(jti), ip: facts.ip, reqId: facts.id }, 'revoked token used')
  }

  tokenIssued (_sub: string, _facts: RequestFacts): void {}

  refreshReuse (sub: string, sid: string, jti: string, facts: RequestFacts): void {
    this.#log.error({ sub, sid: cutJti(sid), jti: cutJti(jti), ip: facts.ip, reqId: facts.id }, 'refresh token reuse: session revoked')
  }

  async close (): Promise<void> {}
}
