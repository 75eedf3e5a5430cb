import type { IncomingMessage, ServerResponse } from 'node:http'

const kAwaitsContinue = Symbol('tokengate.awaitsContinue')

type Awaiting = ServerResponse & { [kAwaitsContinue]?: boolean }

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void

/**
 * A 'checkContinue' listener for node:http: without one, Node answers
 * `Expect: 100-continue` with `100 Continue` as soon as the head arrives,
 * inviting the body of a request that will be refused. With it, the request
 * is handled as any other and the `100 Continue` waits for sendContinue(),
 * called once the request is allowed and its body is about to be read. A
 * final answer without it makes Node close the connection, so the body is
 * never read (RFC 9110 §10.1.1).
 */
export function deferContinue (handle: RequestListener): RequestListener {
  return (req, res) => {
    (res as Awaiting)[kAwaitsContinue] = true
    handle(req, res)
  }
}

/** Sends the `100 Continue` the client waits for, if it waits for one (once). */
export function sendContinue (res: ServerResponse): void {
  const awaiting = res as Awaiting
  if (awaiting[kAwaitsContinue] !== true) return
  awaiting[kAwaitsContinue] = false
  res.writeContinue()
}
