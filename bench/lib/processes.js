import { spawn } from 'node:child_process'
import { canPin } from './pinning.js'
import { connect, createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

/** A free loopback port, chosen by the kernel. */
export async function freePort () {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

async function accepts (port) {
  return await new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

const running = new Set()

/**
 * Spawns one server process and waits until its port accepts connections.
 * stderr is kept (last 4 KB) so that a server dying at start says why.
 */
export async function startProcess (name, command, args, { port, env = {}, cpu = null, timeoutMs = 15_000 } = {}) {
  // taskset execs the command: the pid is the server's own.
  const pin = cpu !== null && canPin()
  const child = pin
    ? spawn('taskset', ['-c', String(cpu), command, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk) => { stderr = (stderr + chunk).slice(-4096) })
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  const handle = {
    name,
    port,
    pid: child.pid,
    cpu: pin ? cpu : null,
    url: `http://127.0.0.1:${port}`,
    get stderr () { return stderr },
    exited,
    async stop (signal = 'SIGTERM') {
      running.delete(handle)
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill(signal)
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }
  }
  running.add(handle)
  let dead = null
  exited.then((status) => { dead = status })
  const deadline = Date.now() + timeoutMs
  while (!(await accepts(port))) {
    if (dead !== null) throw new Error(`${name} exited at start (${JSON.stringify(dead)}): ${stderr.trim()}`)
    if (Date.now() > deadline) {
      await handle.stop('SIGKILL')
      throw new Error(`${name} did not listen on ${port} within ${timeoutMs} ms: ${stderr.trim()}`)
    }
    await sleep(20)
  }
  return handle
}

/** Stops every process still running (reverse start order). */
export async function stopAll () {
  for (const handle of [...running].reverse()) await handle.stop()
}

/** node with the given script, PORT set; extra node flags before the script; `cpu`: pin it there (taskset). */
export async function startNode (name, script, env, nodeFlags = [], { cpu = null } = {}) {
  const port = await freePort()
  return await startProcess(name, process.execPath, [...nodeFlags, script], { port, cpu, env: { ...env, PORT: String(port) } })
}
