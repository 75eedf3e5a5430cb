import type { Counter } from 'prom-client'
import type { IdpQueueView } from '../metrics/metrics.js'
import type { ReplicaState } from '../revocation/replica-state.js'
import type { IdpSource, Revoker } from '../revocation/revoker.js'
import type { RevocationEvent } from '../revocation/store.js'
import type { AlertType } from '../security/alert.js'
import type { AlertFacts } from '../security/monitor.js'
import type { AuditEntry } from '../security/sink.js'
import { RetryQueue, type DropReason, type QueuedWrite } from './retry-queue.js'

export type { IdpSource } from '../revocation/revoker.js'

/** A revocation an identity provider pushed: a session of its, or every token of one of its subjects. */
export interface IdpRevocation {
  readonly source: IdpSource
  readonly kind: 'session' | 'user'
  /** The issuer whose marks it writes (the tokens' `iss`). */
  readonly issuer: string
  /** The session id (kind session) or the subject (kind user). */
  readonly id: string
  /** The subject it also named, for the audit trail (kind session); ignored for kind user. */
  readonly subject?: string | null
  /** What the provider called it, for the audit trail: the event type of a SET, "logout" for a logout token. */
  readonly event?: string
  readonly requestId?: string | null
  readonly ip?: string | null
}

/**
 * stored: in the store, every replica enforces it. queued: enforced on this
 * replica only, its write retried until stored (the receiver must not answer
 * 2xx). dropped: enforced on this replica only and never stored: the retry
 * queue was full; a CRITICAL alert was raised.
 */
export type EnforceOutcome = 'stored' | 'queued' | 'dropped'

export interface EnforceResult {
  readonly outcome: EnforceOutcome
  /** For kind user: every token of the subject issued before this (epoch seconds) is revoked. */
  readonly before: number | null
}

export interface IdpRevokerOptions {
  /** Queued writes at most (IDP_RETRY_QUEUE_SIZE). */
  readonly queueSize: number
  /** A queued write older than this is dropped, not retried (IDP_RETRY_MAX_AGE). */
  readonly maxAgeMs: number
  readonly minDelayMs?: number
  readonly maxDelayMs?: number
  readonly now?: () => number
}

/** What the IdP revoker reports to: the security sink's audit and alert paths, the metrics, the log. */
export interface IdpRevokerDeps {
  readonly revoker: Revoker
  readonly replica: ReplicaState
  readonly audit: (entry: AuditEntry) => void
  readonly raise: (type: AlertType, subject: string, facts: AlertFacts) => Promise<void>
  readonly metrics: {
    readonly idpRevocations: Pick<Counter<'source' | 'kind' | 'outcome'>, 'inc'>
    readonly idpRetries: Pick<Counter<'result'>, 'inc'>
    readonly idpDropped: Pick<Counter<'reason'>, 'inc'>
    readonly watchIdpQueue: (view: IdpQueueView) => void
  }
  readonly log: { readonly error: (obj: object, msg: string) => void, readonly warn: (obj: object, msg: string) => void, readonly info: (obj: object, msg: string) => void }
}

interface Pending { readonly revocation: IdpRevocation, readonly event: RevocationEvent }

/** How an alert and a log line name what a revocation covers: in full, as the operator must re-issue it. */
function named (revocation: IdpRevocation): string {
  const what = revocation.kind === 'session' ? `session "${revocation.id}"` : `subject "${revocation.id}"`
  return `issuer "${revocation.issuer}", ${what} (${revocation.source})`
}

/**
 * Revocations pushed by identity providers, which mostly send once and never
 * retry: each is enforced on this replica at once (ReplicaState.remember),
 * then written through the Revoker; a write that fails is kept in a bounded
 * queue and retried with backoff until stored. A write dropped (queue full,
 * or older than maxAgeMs) raises a CRITICAL `idp_revocation_dropped` alert
 * naming the issuer and the session or subject. Every revocation is audited
 * (`idp_revocation`) with its outcome.
 */
export class IdpRevoker {
  readonly #deps: IdpRevokerDeps
  readonly #queue: RetryQueue<Pending>

  constructor (deps: IdpRevokerDeps, options: IdpRevokerOptions) {
    this.#deps = deps
    this.#queue = new RetryQueue<Pending>({
      maxSize: options.queueSize,
      maxAgeMs: options.maxAgeMs,
      minDelayMs: options.minDelayMs,
      maxDelayMs: options.maxDelayMs,
      now: options.now,
      attempt: async ({ revocation, event }) => { await deps.revoker.store(event, revocation.source) },
      onStored: (entry) => this.#retried(entry),
      onFailedAttempt: () => deps.metrics.idpRetries.inc({ result: 'failed' }),
      onDropped: (entry, reason) => this.#dropped(entry, reason)
    })
    const queue = this.#queue
    deps.metrics.watchIdpQueue({ get depth () { return queue.depth } })
  }

  /** Revocations enforced here whose write is still being retried. */
  get queued (): number {
    return this.#queue.depth
  }

  async enforce (revocation: IdpRevocation): Promise<EnforceResult> {
    const { revoker, replica } = this.#deps
    const event = revocation.kind === 'session' ? revoker.sessionEvent(revocation.issuer, revocation.id, revocation.source) : revoker.userEvent(revocation.issuer, revocation.id, revocation.source)
    const before = event.kind === 'user' ? event.before : null
    // At once, whatever the store says: the identity provider will not send it again.
    replica.remember(event)
    let outcome: EnforceOutcome
    try {
      await revoker.store(event, revocation.source)
      outcome = 'stored'
    } catch (err) {
      outcome = this.#queue.push({ revocation, event }) ? 'queued' : 'dropped'
      if (outcome === 'queued') this.#deps.log.warn({ err: (err as Error).message, source: revocation.source }, `IdP revocation enforced on this replica only, its write queued for retry: ${named(revocation)}`)
    }
    this.#deps.metrics.idpRevocations.inc({ source: revocation.source, kind: revocation.kind, outcome })
    // A drop was audited (and alerted) as it happened.
    if (outcome !== 'dropped') this.#audit(revocation, outcome)
    return { outcome, before }
  }

  /** Tries every queued write now. */
  async retryNow (): Promise<void> {
    await this.#queue.drain()
  }

  /** Stops retrying: what is still queued is dropped, each with its CRITICAL alert. */
  async close (): Promise<void> {
    await this.#queue.close()
  }

  #retried ({ item }: QueuedWrite<Pending>): void {
    this.#deps.metrics.idpRetries.inc({ result: 'stored' })
    this.#deps.log.info({ source: item.revocation.source }, `queued IdP revocation stored: ${named(item.revocation)}`)
    this.#audit(item.revocation, 'stored_after_retry')
  }

  #dropped ({ item }: QueuedWrite<Pending>, reason: DropReason): void {
    const { revocation } = item
    this.#deps.metrics.idpDropped.inc({ reason })
    const detail = `${named(revocation)}, ${reason === 'queue_full' ? 'retry queue full' : 'not stored within IDP_RETRY_MAX_AGE'}`
    this.#deps.log.error({ source: revocation.source, reason }, `IdP revocation dropped, never stored: ${named(revocation)}`)
    this.#audit(revocation, `dropped_${reason}`)
    const user = revocation.kind === 'user' ? revocation.id : revocation.subject ?? null
    this.#deps.raise('idp_revocation_dropped', JSON.stringify([revocation.issuer, revocation.kind, revocation.id]), { iss: revocation.issuer, user_id: user, detail, window_s: 60 }).catch(() => {})
  }

  #audit (revocation: IdpRevocation, outcome: string): void {
    const session = revocation.kind === 'session'
    this.#deps.audit({
      event_type: 'idp_revocation',
      user_id: session ? revocation.subject ?? null : revocation.id,
      iss: revocation.issuer,
      sid: session ? revocation.id : null,
      reason: `${revocation.source}:${revocation.event ?? revocation.kind}:${outcome}`,
      ip: revocation.ip ?? null,
      actor: `idp:${revocation.source}`,
      request_id: revocation.requestId ?? null
    })
  }
}
