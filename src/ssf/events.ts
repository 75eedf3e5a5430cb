/** The event types the receiver knows (CAEP 1.0, RISC 1.0, SSF 1.0), and what each does. */

const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/'
const RISC = 'https://schemas.openid.net/secevent/risc/event-type/'
const SSF = 'https://schemas.openid.net/secevent/ssf/event-type/'

export const EVENT_TYPES = Object.freeze({
  sessionRevoked: `${CAEP}session-revoked`,
  credentialChange: `${CAEP}credential-change`,
  accountDisabled: `${RISC}account-disabled`,
  accountPurged: `${RISC}account-purged`,
  credentialCompromise: `${RISC}credential-compromise`,
  sessionsRevoked: `${RISC}sessions-revoked`,
  verification: `${SSF}verification`,
  streamUpdated: `${SSF}stream-updated`
})

/**
 * What an event does here: `session` revokes the session named (the user when none is named or
 * the issuer has no sessions), `user` every token of the user issued until now, `verify` is an
 * SSF stream verification, `ignore` is acknowledged and counted.
 */
export type EventAction = 'session' | 'user' | 'verify' | 'ignore'

const ACTIONS: ReadonlyMap<string, EventAction> = new Map([
  [EVENT_TYPES.sessionRevoked, 'session'],
  [EVENT_TYPES.credentialChange, 'user'],
  [EVENT_TYPES.accountDisabled, 'user'],
  [EVENT_TYPES.accountPurged, 'user'],
  [EVENT_TYPES.credentialCompromise, 'user'],
  [EVENT_TYPES.sessionsRevoked, 'user'],
  [EVENT_TYPES.verification, 'verify']
])

export function actionOf (eventType: string): EventAction {
  return ACTIONS.get(eventType) ?? 'ignore'
}

/** Every event type that revokes: what a managed stream requests by default (verification is always delivered). */
export const REVOKING_EVENTS: readonly string[] = [...ACTIONS].filter(([, action]) => action === 'session' || action === 'user').map(([type]) => type)

/** A bounded metrics label and audit reason for an event type: its last path segment when known, `other` otherwise. */
export function eventLabel (eventType: string): string {
  return ACTIONS.has(eventType) || eventType === EVENT_TYPES.streamUpdated ? eventType.slice(eventType.lastIndexOf('/') + 1) : 'other'
}
