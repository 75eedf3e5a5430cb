import { createServer, connect, type Socket } from 'node:net'

export interface FaultProxy {
  readonly port: number
  readonly url: string
  /** Stops forwarding in both directions without closing anything (a broken path: no RST, no FIN). */
  blackhole: () => void
  /** Resets every connection (RST) and every new one, until heal(). */
  reset: () => void
  /** Forwards again; what a blackhole held flows on. */
  heal: () => void
  close: () => Promise<void>
}

type Mode = 'forward' | 'blackhole' | 'reset'

/** A TCP proxy on a free loopback port in front of `targetPort`, for fault tests. */
export async function startFaultProxy (targetPort: number): Promise<FaultProxy> {
  let mode: Mode = 'forward'
  const sockets = new Set<Socket>()
  const held: Array<[Socket, Buffer]> = []
  const track = (socket: Socket): void => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
  }
  const relay = (from: Socket, to: Socket): void => {
    from.on('data', (chunk: Buffer) => {
      if (mode === 'forward') to.write(chunk)
      else if (mode === 'blackhole') held.push([to, chunk])
    })
    from.on('close', () => { if (mode !== 'blackhole') to.destroy() })
  }
  const server = createServer((client) => {
    track(client)
    if (mode === 'reset') { client.resetAndDestroy(); return }
    const upstream = connect(targetPort, '127.0.0.1')
    track(upstream)
    relay(client, upstream)
    relay(upstream, client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    blackhole: () => { mode = 'blackhole' },
    reset: () => {
      mode = 'reset'
      held.length = 0
      for (const socket of sockets) socket.resetAndDestroy()
    },
    heal: () => {
      mode = 'forward'
      for (const [to, chunk] of held.splice(0)) if (!to.destroyed) to.write(chunk)
    },
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}
