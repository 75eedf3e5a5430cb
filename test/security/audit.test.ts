import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { GENESIS } from '../../src/security/audit-chain.js'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { sign } from '../helpers/tokens.js'
import { MAIN, runCli, runCommand, type Run } from '../helpers/cli.js'

const admin = (): string => sign({ claims: { sub: 'ops-1', roles: ['admin'] } })

async function verifyCli (file: string): Promise<Run> {
  return await runCommand(['audit', 'verify', file])
}

function tempFile (t: { teardown: (fn: () => unknown) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'tokengate-audit-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return join(dir, 'audit.log')
}

/** Six security operations through the real routes. */
async function operations (gw: Gateway): Promise<void> {
  await call(`${gw.url}/auth/logout`, { method: 'POST', token: sign({ claims: { sub: 'alice' } }) })
  await call(`${gw.url}/auth/revoke`, { method: 'POST', token: sign({ claims: { sub: 'bob' } }) })
  await call(`${gw.url}/auth/refresh`, { method: 'POST', json: { refresh_token: sign({ claims: { sub: 'carol', token_type: 'refresh' } }) } })
  await call(`${gw.url}/admin/users/dave/revoke`, { method: 'POST', token: admin(), json: { reason: 'compromised laptop' } })
  await call(`${gw.url}/admin/tokens/revoke`, { method: 'POST', token: admin(), json: { reason: 'leaked in a ticket', jti: 'abcdefghijklmnop' } })
  await call(`${gw.url}/admin/cleanup`, { method: 'POST', token: admin() })
}

let written: Promise<string> | undefined

/**
 * The log a gateway wrote for operations(), made once for the file (pass the
 * file's root `t`) and only read: the tests that tamper with it copy it.
 */
async function auditedFile (): Promise<string> {
  written ??= (async () => {
    const file = tempFile(t)
    const gw = await startGateway(t, { AUDIT_LOG_FILE: file })
    await operations(gw)
    await gw.app.close()
    return file
  })()
  return await written
}

async function auditedLog (): Promise<string[]> {
  return readFileSync(await auditedFile(), 'utf8').trimEnd().split('\n')
}

t.test('every security operation writes one chained record with the agreed fields', async (t) => {
  const lines = await auditedLog()
  const records = lines.map((line) => JSON.parse(line))
  t.same(records.map((r) => r.event_type), ['logout', 'token_revoked', 'token_refreshed', 'admin_user_revoked', 'admin_token_revoked', 'admin_cleanup'])
  t.equal(records[0].prev, GENESIS, 'the first record chains from the genesis')
  for (let i = 1; i < records.length; i++) t.equal(records[i].prev, records[i - 1].hash, `record ${i + 1} carries the hash of record ${i}`)
  t.match(records[3], { user_id: 'dave', reason: 'compromised laptop', actor: 'ops-1', ip: '127.0.0.1', request_id: /\S+/, timestamp: /^\d{4}-\d\d-\d\dT/ })
  t.equal(records[4].jti, 'abcdefgh', 'jti cut to 8 characters')
  t.same(Object.keys(records[0]), ['timestamp', 'event_type', 'user_id', 'iss', 'jti', 'reason', 'ip', 'actor', 'request_id', 'prev', 'hash'])
  // Issue 18: with several issuers a subject is unique only within its issuer (no JWT_ISSUER here: '' is "no iss").
  t.same(records.map((r) => r.iss), ['', '', '', '*', '*', null], 'the issuer of each record\'s marks: the token\'s, every issuer\'s ("*") for an administrator without several issuers, none for a cleanup')
})

t.test('issue 18: records written before the issuer field still verify, and removing it from a newer one is seen', async (t) => {
  const lines = await auditedLog()
  // A record sealed before `iss` existed: the same fields without it, its hash over them.
  const old = JSON.parse(lines[0])
  const { hash: _hash, iss: _iss, ...withoutIss } = old
  const oldLine = JSON.stringify({ ...withoutIss, hash: createHash('sha256').update(JSON.stringify(withoutIss)).digest('hex') })
  const upgraded = tempFile(t)
  writeFileSync(upgraded, oldLine + '\n')
  const run = await verifyCli(upgraded)
  t.equal(run.code, 0, run.stderr)
  const stripped = tempFile(t)
  writeFileSync(stripped, [JSON.stringify({ ...withoutIss, hash: old.hash }), ...lines.slice(1)].join('\n') + '\n')
  const tampered = await verifyCli(stripped)
  t.equal(tampered.code, 1, 'a record whose iss was removed no longer matches its hash')
  t.match(tampered.stderr, /line 1: /)
})

t.test('audit verify accepts an intact log (the bin, exit code 0)', async (t) => {
  const run = await runCli(['audit', 'verify', await auditedFile()])
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, /intact, 6 records/)
})

t.test('a restarted gateway continues the chain of the existing file', async (t) => {
  const file = tempFile(t)
  const first = await startGateway(t, { AUDIT_LOG_FILE: file })
  await operations(first)
  await first.app.close()
  const second = await startGateway(t, { AUDIT_LOG_FILE: file })
  await operations(second)
  await second.app.close()
  const run = await verifyCli(file)
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, /intact, 12 records/)
})

const tampering: Array<[string, (lines: string[]) => string[], number]> = [
  ['an edited record', (lines) => lines.map((line, i) => i === 3 ? line.replace('compromised laptop', 'routine') : line), 4],
  // Its own hash is consistent again: the break shows at the next record.
  ['an edited record whose hash was recomputed', (lines) => lines.map((line, i) => i === 1 ? line.replace('"bob"', '"eve"') : line), 3],
  ['a removed record', (lines) => lines.filter((_line, i) => i !== 2), 3],
  ['two swapped records', (lines) => [lines[0], lines[2], lines[1], ...lines.slice(3)], 2],
  ['a removed first record', (lines) => lines.slice(1), 1]
]

for (const [what, tamper, badLine] of tampering) {
  t.test(`audit verify rejects ${what}, naming line ${badLine}`, async (t) => {
    const file = tempFile(t)
    let lines = tamper(await auditedLog())
    if (what.includes('recomputed')) lines = reseal(lines, 1)
    writeFileSync(file, lines.join('\n') + '\n')
    const run = await verifyCli(file)
    t.equal(run.code, 1)
    t.match(run.stderr, new RegExp(`line ${badLine}: `))
    t.notMatch(run.stderr, /line \d+:.*line \d+:/, 'one line named')
  })
}

/** An attacker who recomputes the edited record's own hash: the next record's prev still exposes it. */
function reseal (lines: string[], index: number): string[] {
  return lines.map((line, i) => {
    if (i !== index) return line
    const record = JSON.parse(line)
    const { hash: _hash, ...content } = record
    return JSON.stringify({ ...content, hash: createHash('sha256').update(JSON.stringify(content)).digest('hex') })
  })
}

t.test('audit verify answers usage errors with exit code 2, an unreadable file with 1', async (t) => {
  const child = spawn(process.execPath, [MAIN, 'audit', 'check'], { env: { PATH: process.env.PATH ?? '' } })
  const [code] = await once(child, 'exit') as [number | null]
  t.equal(code, 2)
  const missing = await verifyCli('/nonexistent/audit.log')
  t.equal(missing.code, 1, 'a file that cannot be read is a failure, not a usage error')
  t.match(missing.stderr, /cannot read/)
})

t.test('GET /admin/audit/summary counts events by type and reason', async (t) => {
  const gw = await startGateway(t, { AUDIT_LOG_FILE: tempFile(t) })
  await operations(gw)
  await call(`${gw.url}/auth/logout`, { method: 'POST', token: sign({ claims: { sub: 'alice' } }) })
  const res = await call(`${gw.url}/admin/audit/summary`, { token: admin() })
  t.equal(res.status, 200)
  t.equal(res.body.total, 7)
  t.match(res.body.events, {
    logout: { total: 2, reasons: { user_logout: 2 } },
    admin_user_revoked: { total: 1, reasons: { 'compromised laptop': 1 } },
    token_refreshed: { total: 1, reasons: { rotation: 1 } }
  })
  const later = await call(`${gw.url}/admin/audit/summary?since=${new Date(Date.now() + 60_000).toISOString()}`, { token: admin() })
  t.equal(later.body.total, 0, 'since excludes older records')
  t.equal((await call(`${gw.url}/admin/audit/summary?since=yesterday`, { token: admin() })).status, 400)
})

t.test('without AUDIT_LOG_FILE the chained records go to the gateway log whatever LOG_LEVEL says, and verify', async (t) => {
  const gw = await startGateway(t, { LOG_LEVEL: 'error' })
  await operations(gw)
  await gw.app.close()
  const audited = gw.logs.filter((line) => line.includes('"audit":'))
  t.equal(audited.length, 6, 'one log line per operation')
  const file = tempFile(t)
  writeFileSync(file, gw.logs.join(''))
  const run = await verifyCli(file)
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, /intact, 6 records/)
})
