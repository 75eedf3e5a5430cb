import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

/** The built CLI (npm test builds it first: see "pretest"). */
export const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url))

export interface Run { code: number | null, stdout: string, stderr: string }

/** Runs `tokengate ARGS` to completion with only PATH and `env` in its environment. */
export async function runCli (args: string[], env: Record<string, string> = {}): Promise<Run> {
  const child = spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const [code] = await once(child, 'exit') as [number | null]
  return { code, stdout, stderr }
}
