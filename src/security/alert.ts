export type Severity = 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW'

export const SEVERITIES: readonly Severity[] = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW']

export type AlertType =
  | 'user_verification_failures'
  | 'user_token_requests'
  | 'ip_verification_failures'
  | 'revoked_token_use'
  | 'revoked_token_retry'
  | 'refresh_token_reuse'
  | 'possible_token_theft'
  | 'idp_revocation_dropped'
  | 'invalid_idp_message'
  | 'ssf_subject_unmapped'
  | 'dpop_proof_replayed'
  | 'bound_token_without_key'
  | 'bound_token_without_certificate'

/** A raised alert as stored, listed and POSTed to ALERT_WEBHOOK_URL. jti values are cut to 8 characters. */
export interface Alert {
  readonly id: string
  readonly timestamp: string
  readonly severity: Severity
  readonly type: AlertType
  readonly message: string
  /** The issuer of user_id and jti ('' for a token without `iss`); null when the alert names neither (an address). */
  readonly iss: string | null
  readonly user_id: string | null
  readonly ip: string | null
  readonly jti: string | null
  /** Events counted in the window when the rule fired (null for single-event rules). */
  readonly count: number | null
  readonly threshold: number | null
  readonly window_s: number
  /** The request an alert about one request came from (revoked token use, refresh reuse); null for counted rules. */
  readonly request_id: string | null
}

export const SEVERITY_OF: Readonly<Record<AlertType, Severity>> = {
  user_verification_failures: 'HIGH',
  user_token_requests: 'MEDIUM',
  ip_verification_failures: 'HIGH',
  revoked_token_use: 'CRITICAL',
  revoked_token_retry: 'LOW',
  refresh_token_reuse: 'CRITICAL',
  possible_token_theft: 'HIGH',
  idp_revocation_dropped: 'CRITICAL',
  invalid_idp_message: 'HIGH',
  ssf_subject_unmapped: 'HIGH',
  dpop_proof_replayed: 'HIGH',
  bound_token_without_key: 'HIGH',
  bound_token_without_certificate: 'HIGH'
}
