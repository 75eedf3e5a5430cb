import type { FastifyInstance } from 'fastify'
import { Writable } from 'node:stream'
import { buildApp, type BuildOptions } from '../../src/app.js'
import { loadConfig } from '../../src/config/load.js'
import type { Config } from '../../src/config/types.js'
import { SECRET } from './tokens.js'

interface Teardown { teardown: (fn: () => unknown) => void }

export interface Gateway {
  readonly app: FastifyInstance
  readonly config: Config
  readonly url: string
  /** Every log line the gateway wrote, for assertions such as "no token was logged". */
  readonly logs: string[]
}

export const BASE_ENV: Readonly<Record<string, string>> = {
  NODE_ENV: 'test',
  JWT_SECRET: SECRET,
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_LEVEL: 'info'
}

/** What a test may pass to buildApp beside the environment (the logger and Redis' start-up wait are the helper's). */
export type GatewayOptions = Pick<BuildOptions, 'now' | 'ssfLeaseRenewMs'>

/** Builds without listening (drive it with `app.inject()` or `injectServer()`); closed when the test ends. */
export async function buildGateway (t: Teardown, env: Record<string, string | undefined> = {}, options: GatewayOptions = {}): Promise<Omit<Gateway, 'url'>> {
  const merged: Record<string, string | undefined> = { ...BASE_ENV, ...env }
  const config = loadConfig(merged)
  const logs: string[] = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) { logs.push(chunk.toString()); done() }
  })
  const app = await buildApp(config, { ...options, logger: { level: config.logLevel, stream }, redisConnectTimeoutMs: 2000 })
  t.teardown(() => app.close())
  return { app, config, logs }
}

/** Builds and listens on the PORT given, or a free port; closed when the test ends. */
export async function startGateway (t: Teardown, env: Record<string, string | undefined> = {}, options: GatewayOptions = {}): Promise<Gateway> {
  const { app, config, logs } = await buildGateway(t, env, options)
  await app.listen({ port: config.port, host: '127.0.0.1' })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return { app, config, url: `http://127.0.0.1:${port}`, logs }
}
