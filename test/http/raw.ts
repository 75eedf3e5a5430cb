import { connect } from 'node:net'

export interface RawResponse {
  /** 0 when the server closed without an answer. */
  readonly status: number
  readonly head: string
  readonly body: string
  /** Milliseconds until the server closed the connection. */
  readonly closedAfterMs: number
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
      const text = Buffer.concat(parts).toString('latin1')
      const split = text.indexOf('\r\n\r\n')
      const head = split === -1 ? text : text.slice(0, split)
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0)
      resolve({ status, head, body: split === -1 ? '' : text.slice(split + 4), closedAfterMs: Date.now() - started })
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
