import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { once } from 'node:events'
import { connect } from 'node:net'
import { networkInterfaces } from 'node:os'
import t from 'tap'
import { REQUIRED_NODE, satisfies, tooOld } from '../../src/cli/node-version.js'
import { loadConfig } from '../../src/config/load.js'
import { MAIN, runProgram } from '../helpers/cli.js'
import { freePort } from '../helpers/redis.js'
import { SECRET } from '../helpers/tokens.js'
import { waitFor } from '../helpers/until.js'

// The machine's own Node.js (Debian's), older than engines; Node 24 runs the suite.
const OLD_NODE = '/usr/bin/node'

t.test('the version the guard asks for is package.json\'s engines.node', async (t) => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } }
  t.equal(pkg.engines.node, `>=${REQUIRED_NODE}`)
  t.ok(satisfies(process.version), 'the Node.js running the suite passes')
  t.notOk(satisfies('v20.20.2'))
  t.notOk(satisfies('v22.18.9'))
  t.ok(satisfies('v22.19.0'))
  t.ok(satisfies('v23.0.0'))
  t.ok(satisfies('v100.1.1'))
})

t.test('on an older Node.js every command stops with one line naming both versions, exit code 1', async (t) => {
  const version = existsSync(OLD_NODE) ? (await runProgram(OLD_NODE, ['--version'])).stdout.trim() : ''
  if (version === '' || satisfies(version)) {
    t.pass(`no Node.js older than ${REQUIRED_NODE} at ${OLD_NODE}: nothing to check`)
    return
  }
  // serve is `npm start`; the others load undici and the rest just the same.
  for (const args of [['serve'], [], ['token', '--sub', 'a'], ['admin', 'status'], ['audit', 'verify', 'x'], ['--version']]) {
    const result = await runProgram(OLD_NODE, [MAIN, ...args], { JWT_SECRET: SECRET, PORT: '0' })
    t.equal(result.code, 1, `tokengate ${args.join(' ')}`)
    t.equal(result.stderr, tooOld(version) + '\n', 'one line, no stack trace')
    t.match(result.stderr, `needs Node.js ${REQUIRED_NODE} or newer; this is Node.js ${version}`)
    t.equal(result.stdout, '')
  }
})

t.test('the development instance listens on loopback unless HOST says otherwise; a configured one where HOST says', async (t) => {
  t.equal(loadConfig({}).host, '127.0.0.1', 'no key: the development instance')
  t.equal(loadConfig({ HOST: '0.0.0.0' }).host, '0.0.0.0', 'HOST wins')
  t.equal(loadConfig({ JWT_SECRET: SECRET }).host, '0.0.0.0', 'a configured key: listen everywhere')
  t.equal(loadConfig({ JWT_SECRET: SECRET, HOST: '10.1.2.3' }).host, '10.1.2.3')
})

/** This machine's first address that is not loopback, if it has one. */
function outsideAddress (): string | undefined {
  return Object.values(networkInterfaces()).flat().find((a) => a !== undefined && !a.internal && a.family === 'IPv4')?.address
}

t.test('the processes: the development instance is unreachable from another address, a configured one answers there', async (t) => {
  const outside = outsideAddress()
  if (outside === undefined) {
    t.pass('this machine has no address besides loopback: nothing to check')
    return
  }
  const reaches = async (env: Record<string, string>): Promise<boolean> => {
    const port = await freePort()
    const child = spawn(process.execPath, [MAIN, 'serve'], { env: { PATH: process.env.PATH ?? '', PORT: String(port), ...env } })
    const exited = once(child, 'exit')
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 'tokengate to answer on loopback', 15_000, 50)
      return await new Promise<boolean>((resolve) => {
        const socket = connect(port, outside)
        socket.once('connect', () => { socket.destroy(); resolve(true) })
        socket.once('error', () => { resolve(false) })
      })
    } finally {
      child.kill('SIGTERM')
      await exited
    }
  }
  t.equal(await reaches({}), false, `npm start without configuration: nothing answers on ${outside}`)
  t.equal(await reaches({ HOST: '0.0.0.0' }), true, 'HOST=0.0.0.0 opens the development instance on purpose')
  t.equal(await reaches({ JWT_SECRET: SECRET }), true, 'with a key, tokengate listens on every address by default')
})
