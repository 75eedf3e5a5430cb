import { createServer, type Server } from 'node:http'
import { freePort } from '../helpers/redis.js'

export interface Receiver {
  readonly url: string
  /** Parsed JSON bodies received, in order. */
  readonly bodies: any[]
  /** Stops listening (the URL refuses connections) until start() again. */
  stop: () => Promise<void>
  start: () => Promise<void>
}

/** A real HTTP webhook receiver (a stand-in SIEM) on a fixed free port, so it can go down and come back. */
export async function startReceiver (t: { teardown: (fn: () => unknown) => void }): Promise<Receiver> {
  const port = await freePort()
  const bodies: any[] = []
  let server: Server | null = null
  const start = async (): Promise<void> => {
    const listening = createServer((req, res) => {
      let text = ''
      req.setEncoding('utf8')
      req.on('data', (chunk: string) => { text += chunk })
      req.on('end', () => {
        bodies.push(JSON.parse(text))
        res.writeHead(204).end()
      })
    })
    server = listening
    await new Promise<void>((resolve) => listening.listen(port, '127.0.0.1', resolve))
  }
  const stop = async (): Promise<void> => {
    const listening = server
    server = null
    if (listening === null) return
    listening.closeAllConnections()
    await new Promise((resolve) => listening.close(resolve))
  }
  await start()
  t.teardown(stop)
  return { url: `http://127.0.0.1:${port}/hook`, bodies, stop, start }
}
