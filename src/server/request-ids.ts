import { randomBytes } from 'node:crypto'

// 72 random bits per process, then a counter: unique across replicas and restarts
// without a randomUUID() (and its entropy pool) on every request.
const PROCESS = randomBytes(9).toString('base64url')
let sequence = 0

/** A request id for logs and audit records: `<process>-<sequence>`. */
export function nextRequestId (): string {
  return `${PROCESS}-${(++sequence).toString(36)}`
}

// What a proxy's id looks like (nginx $request_id is 32 hex digits, Envoy a UUID): printable, no spaces, bounded.
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/

/**
 * The request id of a request: a trusted proxy's X-Request-Id (so one id
 * follows the request through the ingress, tokengate and the API), else
 * tokengate's own. A client cannot choose the id its requests are logged and
 * audited under; its own X-Request-Id is at most logged as `clientRequestId`.
 */
export function requestIdOf (given: string | string[] | undefined, trusted: boolean): string {
  return trusted && typeof given === 'string' && REQUEST_ID.test(given) ? given : nextRequestId()
}
