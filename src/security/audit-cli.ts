import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { createGunzip } from 'node:zlib'
import { parseArgs } from 'node:util'
import { GENESIS, verifyLines } from './audit-chain.js'

export const AUDIT_USAGE = `usage: tokengate audit verify [--continues] FILE...
Checks a hash-chained audit log (AUDIT_LOG_FILE). Rotated files are one chain: name them
oldest first, e.g. audit verify audit.log.3.gz audit.log.2.gz audit.log.1 audit.log
(.gz files are read compressed). Each file must continue the one before it; a missing or
misordered file is reported at its first line.
  --continues   the oldest file given continues files that are gone (logrotate deleted them):
                its first record may follow any hash, which is printed to compare with a copy
Exit codes: 0 intact; 1 tampered, a file missing, out of order or unreadable; 2 usage.`

/** Where the command writes its lines (the process' stdout and stderr, or a test's buffers). */
interface Output { readonly out: (line: string) => void, readonly err: (line: string) => void }

async function readLines (path: string): Promise<string[]> {
  const lines: string[] = []
  const file = createReadStream(path)
  const input = path.endsWith('.gz') ? file.pipe(createGunzip()) : file
  file.on('error', (err) => input.destroy(err))
  for await (const line of createInterface({ input, crlfDelay: Infinity })) lines.push(line)
  return lines
}

const short = (hash: string): string => hash === GENESIS ? 'the chain\'s beginning' : `${hash.slice(0, 16)}…`

/** `tokengate audit verify [--continues] FILE...`: 0 for an intact chain across the files, 1 naming the first bad line, 2 for usage errors. */
export async function auditCommand (args: string[], io: Output): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({ args, options: { continues: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } }, allowPositionals: true })
  } catch (err) {
    io.err(`tokengate audit: ${(err as Error).message}\n${AUDIT_USAGE}`)
    return 2
  }
  const [action, ...files] = parsed.positionals
  if (parsed.values.help) {
    io.out(AUDIT_USAGE)
    return 0
  }
  if (action !== 'verify' || files.length === 0) {
    io.err(AUDIT_USAGE)
    return 2
  }
  const contents: string[][] = []
  for (const file of files) {
    try {
      contents.push(await readLines(file))
    } catch (err) {
      io.err(`${file}: cannot read: ${(err as Error).message}`)
      return 1
    }
  }
  let expected: string | null = parsed.values.continues ? null : GENESIS
  let total = 0
  for (const [index, file] of files.entries()) {
    const outcome = verifyLines(contents[index], expected)
    if (!outcome.ok) {
      io.err(`${file}: line ${outcome.line}: ${outcome.problem}${outcome.start === true ? boundary(files, contents, index) : ''}`)
      return 1
    }
    if (index === 0 && parsed.values.continues && outcome.first !== null) io.out(`${file}: continues a record not given, whose hash is ${outcome.first}`)
    expected = outcome.last
    total += outcome.records
  }
  io.out(`${files.join(' ')}: intact, ${total} records${files.length > 1 ? ` in ${files.length} files` : ''}, last hash ${expected === null ? 'none' : short(expected)}`)
  return 0
}

/** The prev of a file's first record and the hash of its last. */
function ends (lines: readonly string[]): { first: unknown, last: unknown } {
  const records = lines.flatMap((line) => {
    try {
      const value = JSON.parse(line)
      const record = value?.audit ?? value
      return typeof record?.hash === 'string' ? [record as { prev: unknown, hash: unknown }] : []
    } catch {
      return []
    }
  })
  return { first: records[0]?.prev, last: records.at(-1)?.hash }
}

/** Why file `index` does not continue the one before it: the order is wrong, or a file between them is missing. */
function boundary (files: readonly string[], contents: ReadonlyArray<readonly string[]>, index: number): string {
  const { first } = ends(contents[index])
  const follows = contents.findIndex((lines, i) => i !== index && ends(lines).last === first)
  if (follows !== -1) return ` (it continues ${files[follows]}: name the files oldest first)`
  if (index === 0) return '; older rotated files come first, or pass --continues when logrotate has deleted them'
  return ` (${files[index - 1]}): a file between them is missing, or the files are out of order (name them oldest first)`
}
