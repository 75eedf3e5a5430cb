import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { runTokengate } from '../../src/cli/run.js'
import { freePort } from './redis.js'
import { waitFor } from './until.js'

/** The built CLI (npm test builds it first: see "pretest"). */
export const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url))

export interface Run { code: number | null, stdout: string, stderr: string }

/**
 * Runs `tokengate ARGS` inside this process: the commands the bin runs (src/cli/run.ts), with `env`
 * as the whole environment and `input` as stdin, output and exit code captured. No spawn: a process
 * costs about a second of CPU; runCli keeps the few tests of the process itself (bin, exit codes, stdin).
 */
export async function runCommand (args: string[], env: Record<string, string> = {}, input?: string): Promise<Run> {
  let stdout = ''
  let stderr = ''
  const code = await runTokengate(args, {
    env: { ...env },
    out: (line) => { stdout += line + '\n' },
    err: (line) => { stderr += line + '\n' },
    stdin: async () => input ?? ''
  })
  return { code, stdout, stderr }
}

/** Runs the built bin, `tokengate ARGS`, to completion with only PATH and `env` in its environment, and `input` on stdin if given. */
export async function runCli (args: string[], env: Record<string, string> = {}, input?: string): Promise<Run> {
  return await runProgram(process.execPath, [MAIN, ...args], env, input)
}

/** Runs `command ARGS` to completion with only PATH and `env` in its environment, and `input` on stdin if given. */
export async function runProgram (command: string, args: string[], env: Record<string, string> = {}, input?: string): Promise<Run> {
  const child = spawn(command, args, { env: { PATH: process.env.PATH ?? '', ...env } })
  if (input !== undefined) child.stdin.end(input)
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const [code] = await once(child, 'exit') as [number | null]
  return { code, stdout, stderr }
}

export interface ServedGateway {
  readonly url: string
  /** Everything the process wrote, for "no token was logged" assertions. */
  output: () => string
  /** Sends the process a signal (SIGHUP: reload). */
  signal: (signal: NodeJS.Signals) => void
  /** Whether the process still runs. */
  running: () => boolean
}

/** `tokengate serve` as its own process on a free loopback port, ready once /healthz answers; stopped when the test ends. */
export async function serveCli (t: { teardown: (fn: () => unknown) => void }, env: Record<string, string>): Promise<ServedGateway> {
  const port = await freePort()
  const child = spawn(process.execPath, [MAIN, 'serve'], { env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), ...env } })
  let output = ''
  child.stdout.on('data', (d: Buffer) => { output += d.toString() })
  child.stderr.on('data', (d: Buffer) => { output += d.toString() })
  const exited = once(child, 'exit')
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    await exited
  })
  const url = `http://127.0.0.1:${port}`
  await waitFor(async () => child.exitCode !== null || (await fetch(`${url}/healthz`)).ok, 'tokengate serve to answer /healthz', 15_000, 50)
  if (child.exitCode !== null) throw new Error(`tokengate serve exited: ${output}`)
  return { url, output: () => output, signal: (signal) => { child.kill(signal) }, running: () => child.exitCode === null && child.signalCode === null }
}
