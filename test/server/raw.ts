import { connect } from 'node:net'

export interface RawResponse {
  /** 0 when the server closed without an answer. */
  readonly status: number
  readonly head: string
  readonly body: string
  /** Every byte the server sent, as latin1. */
  readonly text: string
  /** Milliseconds until the server closed the connection. */
  readonly closedAfterMs: number
}

/** The first response in what a server sent (`text` holds all of it, interim `100 Continue` included). */
function parseResponse (parts: Buffer[], started: number): RawResponse {
  const text = Buffer.concat(parts).toString('latin1')
  const split = text.indexOf('\r\n\r\n')
  const head = split === -1 ? text : text.slice(0, split)
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0)
  return { status, head, body: split === -1 ? '' : text.slice(split + 4), text, closedAfterMs: Date.now() - started }
}

/**
 * Sends bytes exactly as given (no client-side validation or normalisation)
 * and reads until the server closes. `trickle` sends the bytes one chunk at a
 * time, `everyMs` apart, until the server hangs up.
 */
export async function rawRequest (url: string, bytes: Buffer | string, trickle?: { chunks: Array<Buffer | string>, everyMs: number }): Promise<RawResponse> {
  const { hostname, port } = new URL(url)
  const started = Date.now()
  return await new Promise((resolve) => {
    const socket = connect(Number(port), hostname)
    const parts: Buffer[] = []
    let timer: NodeJS.Timeout | undefined
    socket.on('connect', () => {
      socket.write(bytes)
      if (trickle === undefined) return
      let next = 0
      timer = setInterval(() => {
        if (next < trickle.chunks.length && socket.writable) socket.write(trickle.chunks[next++])
        else clearInterval(timer)
      }, trickle.everyMs)
    })
    socket.on('data', (d: Buffer) => parts.push(d))
    socket.on('error', () => {})
    socket.on('close', () => {
      clearInterval(timer)
      resolve(parseResponse(parts, started))
    })
  })
}

/** A complete HTTP/1.1 request that asks the server to close afterwards. */
export function buildRequest (method: string, target: string, headers: Array<[string, string | Buffer]>, body?: Buffer | string): Buffer {
  const lines: Buffer[] = [Buffer.from(`${method} ${target} HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n`, 'latin1')]
  for (const [name, value] of headers) lines.push(Buffer.from(`${name}: `, 'latin1'), Buffer.isBuffer(value) ? value : Buffer.from(value, 'latin1'), Buffer.from('\r\n'))
  const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body)
  if (payload !== undefined) lines.push(Buffer.from(`Content-Length: ${payload.length}\r\n`))
  lines.push(Buffer.from('\r\n'))
  if (payload !== undefined) lines.push(payload)
  return Buffer.concat(lines)
}

export interface SlowClient {
  /** What the server sent before it closed the connection (or before close() ended the client). */
  readonly answer: Promise<RawResponse>
  /** Ends the client (idempotent); the test's teardown calls it too. */
  readonly close: () => void
}

/**
 * A client that sends `head`, then one `chunk` every `everyMs`, at most
 * `maxChunks` times (so that it stops by itself), and keeps the connection
 * open until the server closes it or close() is called.
 */
export function slowClient (t: { teardown: (fn: () => unknown) => void }, url: string, head: Buffer | string, { chunk, everyMs, maxChunks }: { chunk: Buffer | string, everyMs: number, maxChunks: number }): SlowClient {
  const { hostname, port } = new URL(url)
  const started = Date.now()
  const socket = connect(Number(port), hostname)
  const parts: Buffer[] = []
  let sent = 0
  const timer = setInterval(() => {
    if (sent++ < maxChunks && socket.writable) socket.write(chunk)
    else clearInterval(timer)
  }, everyMs)
  socket.on('connect', () => socket.write(head))
  socket.on('data', (d: Buffer) => parts.push(d))
  socket.on('error', () => {})
  const answer = new Promise<RawResponse>((resolve) => {
    socket.on('close', () => {
      clearInterval(timer)
      resolve(parseResponse(parts, started))
    })
  })
  const close = (): void => { clearInterval(timer); socket.destroy() }
  t.teardown(close)
  return { answer, close }
}
