import { createInterface } from 'node:readline/promises'
import { text } from 'node:stream/consumers'
import { runTokengate } from './run.js'

// The process around the commands (run.ts), loaded by src/main.ts once Node.js is new enough: its arguments, environment, streams and exit code.
runTokengate(process.argv.slice(2), {
  env: process.env,
  out: (line) => { process.stdout.write(line + '\n') },
  err: (line) => { process.stderr.write(line + '\n') },
  stdin: async () => await text(process.stdin),
  ...(process.stdin.isTTY && process.stderr.isTTY && { confirm })
}).then((code) => {
  if (code !== 0) process.exitCode = code
}, (err: unknown) => {
  process.stderr.write(`tokengate: ${String(err)}\n`)
  process.exitCode = 1
})

async function confirm (question: string): Promise<boolean> {
  const terminal = createInterface({ input: process.stdin, output: process.stderr })
  try {
    return (await terminal.question(question)).trim().toLowerCase() === 'yes'
  } finally {
    terminal.close()
  }
}
