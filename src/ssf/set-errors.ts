import { Failures, type Failure } from '../errors.js'

/** RFC 8935 §2.4 (the IANA "Security Event Token Error Codes"): what a transmitter reads in `err`. */
export type SetErrorCode = 'invalid_request' | 'invalid_key' | 'invalid_issuer' | 'invalid_audience' | 'authentication_failed' | 'access_denied'

const CODES: ReadonlyMap<string, SetErrorCode> = new Map([
  [Failures.SSF_SET_MALFORMED.code, 'invalid_request'],
  [Failures.SSF_SET_KEY.code, 'invalid_key'],
  [Failures.SSF_SET_ISSUER.code, 'invalid_issuer'],
  [Failures.SSF_SET_AUDIENCE.code, 'invalid_audience'],
  [Failures.SSF_SUBJECT_UNMAPPED.code, 'invalid_request'],
  [Failures.SSF_AUTHENTICATION.code, 'authentication_failed'],
  [Failures.SSF_ACCESS_DENIED.code, 'access_denied']
])

/** The RFC 8935 error code of a refusal (by its registry code: described copies keep it). */
export function setErrorOf (failure: Failure): SetErrorCode {
  return CODES.get(failure.code) ?? 'invalid_request'
}

/** RFC 8935 §2.3 / RFC 8936 §2.4.4: `{ "err", "description" }`; the description is ours, never SET content. */
export function setErrorBody (failure: Failure): { err: SetErrorCode, description: string } {
  return { err: setErrorOf(failure), description: failure.description }
}
