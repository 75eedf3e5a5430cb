import type { AuditFields } from '../security/audit-chain.js'

/** What a worker and the primary say to each other over the cluster IPC channel. */
export type ClusterMessage =
  | { readonly type: 'tokengate:audit', readonly fields: AuditFields }
  | { readonly type: 'tokengate:metrics-request', readonly id: number }
  | { readonly type: 'tokengate:metrics-response', readonly id: number, readonly text: string | null }
  | { readonly type: 'tokengate:shutdown' }

type Tagged<T extends ClusterMessage['type']> = Extract<ClusterMessage, { type: T }>

export function isMessage<T extends ClusterMessage['type']> (value: unknown, type: T): value is Tagged<T> {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === type
}
