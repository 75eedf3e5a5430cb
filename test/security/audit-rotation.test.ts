import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import t from 'tap'
import { GENESIS } from '../../src/security/audit-chain.js'
import { AuditLog } from '../../src/security/audit-log.js'
import { runCommand, serveCli } from '../helpers/cli.js'
import { call } from '../helpers/http.js'
import { tempDir } from '../helpers/temp-dir.js'
import { SECRET, sign } from '../helpers/tokens.js'
import { until, waitFor } from '../helpers/until.js'

// logrotate without copytruncate: rename the file, then SIGHUP; the gateway reopens AUDIT_LOG_FILE
// and the chain goes on in the new file. `audit verify` checks the rotated files as one chain.

const dir = tempDir(t, 'tg-audit-rotation-')
const file = join(dir, 'audit.log')

const gateway = await serveCli(t, { JWT_SECRET: SECRET, AUDIT_LOG_FILE: file })
const { url, output } = gateway

/** `n` logouts: one audit record each, written once the answer is sent. */
async function logouts (n: number, who: string): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await call(`${url}/auth/logout`, { method: 'POST', token: sign({ claims: { sub: `${who}-${i}` } }) })
    if (res.status !== 200) throw new Error(`logout: ${res.status}`)
  }
}

const lineCount = (path: string): number => readFileSync(path, 'utf8').split('\n').filter((l) => l !== '').length

/** What logrotate does: rename, then signal (postrotate). */
async function rotate (from: string, to: string): Promise<void> {
  const reopened = output().split('audit log reopened').length
  renameSync(from, to)
  gateway.signal('SIGHUP')
  await waitFor(() => output().split('audit log reopened').length > reopened, 'the gateway to log the reopening', 5000, 10)
}

await logouts(3, 'first')
await until(() => lineCount(file) === 3, 5000, 10)
await rotate(file, `${file}.1`)
await logouts(4, 'second')
await until(() => lineCount(file) === 4, 5000, 10)
await rotate(`${file}.1`, `${file}.2`)
await rotate(file, `${file}.1`)
await logouts(2, 'third')
await until(() => lineCount(file) === 2, 5000, 10)
const [oldest, middle, current] = [`${file}.2`, `${file}.1`, file]

t.test('after rename + SIGHUP the gateway writes a new file at AUDIT_LOG_FILE and keeps running', async (t) => {
  t.ok(gateway.running(), 'SIGHUP does not end the process')
  t.equal(lineCount(oldest), 3)
  t.equal(lineCount(middle), 4)
  t.equal(lineCount(current), 2)
  const firstOfNew = JSON.parse(readFileSync(current, 'utf8').split('\n')[0]) as { prev: string }
  const lastOfOld = JSON.parse(readFileSync(middle, 'utf8').trimEnd().split('\n').at(-1) ?? '') as { hash: string }
  t.equal(firstOfNew.prev, lastOfOld.hash, 'the new file\'s first record names the old file\'s last')
  t.equal((await call(`${url}/auth/verify`, { token: sign() })).status, 200, 'still deciding')
})

t.test('audit verify checks the rotated files as one chain, oldest first', async (t) => {
  const run = await runCommand(['audit', 'verify', oldest, middle, current])
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, /intact, 9 records in 3 files/)
  const alone = await runCommand(['audit', 'verify', current])
  t.equal(alone.code, 1, 'the newest file alone does not start the chain')
  t.match(alone.stderr, /does not start at the chain's beginning.*--continues/)
})

t.test('a compressed rotated file (logrotate compress) is read as it is', async (t) => {
  const gz = join(tempDir(t, 'tg-audit-gz-'), 'audit.log.2.gz')
  writeFileSync(gz, gzipSync(readFileSync(oldest)))
  const run = await runCommand(['audit', 'verify', gz, middle, current])
  t.equal(run.code, 0, run.stderr)
})

t.test('a missing file between two is reported at the first line of the file after the gap', async (t) => {
  const run = await runCommand(['audit', 'verify', oldest, current])
  t.equal(run.code, 1)
  t.match(run.stderr, `${current}: line 1: its first record does not follow the last record before it (${oldest}): a file between them is missing`)
})

t.test('files out of order are reported, naming the file it continues', async (t) => {
  const run = await runCommand(['audit', 'verify', middle, oldest, current])
  t.equal(run.code, 1)
  t.match(run.stderr, `${middle}: line 1: `)
  t.match(run.stderr, `(it continues ${oldest}: name the files oldest first)`)
})

t.test('--continues: the oldest file left after logrotate deleted older ones verifies, and its anchor is printed', async (t) => {
  const firstPrev = (JSON.parse(readFileSync(middle, 'utf8').split('\n')[0]) as { prev: string }).prev
  const run = await runCommand(['audit', 'verify', '--continues', middle, current])
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, `continues a record not given, whose hash is ${firstPrev}`)
  t.match(run.stdout, /intact, 6 records in 2 files/)
  const edited = join(tempDir(t, 'tg-audit-edit-'), 'audit.log.1')
  writeFileSync(edited, readFileSync(middle, 'utf8').replace('second-1', 'second-9'))
  const tampered = await runCommand(['audit', 'verify', '--continues', edited, current])
  t.equal(tampered.code, 1, '--continues relaxes the anchor only, not the chain')
  t.match(tampered.stderr, /line 2: record was edited/)
})

t.test('SIGHUP without a rename: the same file, records still in chain order', async (t) => {
  const log = { info: () => {} }
  const path = join(tempDir(t, 'tg-audit-reopen-'), 'audit.log')
  const audit = new AuditLog(path, log)
  const fields = (i: number): Parameters<AuditLog['append']>[0] => ({ timestamp: new Date(0).toISOString(), event_type: 'logout', user_id: `u${i}`, iss: null, jti: null, reason: null, ip: null, actor: null, request_id: null })
  // Records written around several reopens in one tick: the old stream flushes before the new one writes.
  for (let i = 0; i < 300; i++) {
    audit.append(fields(i))
    if (i % 50 === 0) audit.reopen()
  }
  await audit.close()
  const run = await runCommand(['audit', 'verify', path])
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, /intact, 300 records/)
  t.equal(JSON.parse(readFileSync(path, 'utf8').split('\n')[0]).prev, GENESIS)
})
