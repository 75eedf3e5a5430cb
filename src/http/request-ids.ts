import { randomBytes } from 'node:crypto'

// 72 random bits per process, then a counter: unique across replicas and restarts
// without a randomUUID() (and its entropy pool) on every request.
const PROCESS = randomBytes(9).toString('base64url')
let sequence = 0

/** A request id for logs and audit records: `<process>-<sequence>`. */
export function nextRequestId (): string {
  return `${PROCESS}-${(++sequence).toString(36)}`
}
