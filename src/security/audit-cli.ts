import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { verifyLines } from './audit-chain.js'

const USAGE = 'usage: tokengate audit verify FILE'

async function readLines (path: string): Promise<string[]> {
  const lines: string[] = []
  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) lines.push(line)
  return lines
}

/** `tokengate audit verify FILE`: 0 for an intact chain, 1 naming the first bad line, 2 for usage errors. */
export async function auditCommand (args: string[]): Promise<number> {
  const [action, file] = args
  if (action !== 'verify' || file === undefined || args.length > 2) {
    process.stderr.write(`${USAGE}\n`)
    return 2
  }
  let lines: string[]
  try {
    lines = await readLines(file)
  } catch (err) {
    process.stderr.write(`tokengate: cannot read ${file}: ${(err as Error).message}\n`)
    return 2
  }
  const outcome = verifyLines(lines)
  if (outcome.ok) {
    process.stdout.write(`${file}: intact, ${outcome.records} records\n`)
    return 0
  }
  process.stderr.write(`${file}: line ${outcome.line}: ${outcome.problem}\n`)
  return 1
}
