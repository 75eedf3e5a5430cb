import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { verifyLines } from './audit-chain.js'

const USAGE = 'usage: tokengate audit verify FILE'

/** Where the command writes its lines (the process' stdout and stderr, or a test's buffers). */
interface Output { readonly out: (line: string) => void, readonly err: (line: string) => void }

async function readLines (path: string): Promise<string[]> {
  const lines: string[] = []
  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) lines.push(line)
  return lines
}

/** `tokengate audit verify FILE`: 0 for an intact chain, 1 naming the first bad line, 2 for usage errors. */
export async function auditCommand (args: string[], io: Output): Promise<number> {
  const [action, file] = args
  if (action !== 'verify' || file === undefined || args.length > 2) {
    io.err(USAGE)
    return 2
  }
  let lines: string[]
  try {
    lines = await readLines(file)
  } catch (err) {
    io.err(`tokengate: cannot read ${file}: ${(err as Error).message}`)
    return 2
  }
  const outcome = verifyLines(lines)
  if (outcome.ok) {
    io.out(`${file}: intact, ${outcome.records} records`)
    return 0
  }
  io.err(`${file}: line ${outcome.line}: ${outcome.problem}`)
  return 1
}
