import { Writable } from 'node:stream'
import { pino } from 'pino'
import { Counter, Registry } from 'prom-client'
import t from 'tap'
import { Failures } from '../../src/errors.js'
import { RefusalReport } from '../../src/server/refusal-report.js'
import { manualClock } from '../helpers/clock.js'

// Issue 16 item 4: refusals before the decision are logged at most N lines
// per reason per second, with the count of the lines left out.

function report (linesPerSecond: number): { report: RefusalReport, lines: Array<Record<string, unknown>>, counter: Counter<'mode' | 'reason'>, clock: ReturnType<typeof manualClock> } {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString())); done() } })
  const counter = new Counter({ name: 'refusals_total', help: 'x', labelNames: ['mode', 'reason'], registers: [new Registry()] })
  const clock = manualClock(1_000_000)
  return { report: new RefusalReport({ counter, modes: [], log: pino({ level: 'info' }, stream), linesPerSecond, now: clock.now }), lines, counter, clock }
}

async function count (counter: Counter<'mode' | 'reason'>, labels: Record<'mode' | 'reason', string>): Promise<number> {
  return (await counter.get()).values.find((v) => v.labels.mode === labels.mode && v.labels.reason === labels.reason)?.value ?? 0
}

t.test('a burst of one reason logs N lines a second, then one line with the suppressed count; every refusal is counted', async (t) => {
  const { report: r, lines, counter, clock } = report(5)
  for (let i = 0; i < 100; i++) r.refused('proxy', Failures.PATH_AMBIGUOUS, { ip: '192.0.2.7', path: '/a/%2e%2e/b' })
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(lines.length, 5)
  t.ok(lines.every((line) => line.level === 40 && line.reason === 'ambiguous_path' && line.mode === 'proxy' && line.suppressed === 0))
  clock.advance(1000)
  r.refused('proxy', Failures.PATH_AMBIGUOUS, { ip: '192.0.2.7', path: '/x' })
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(lines.length, 6)
  t.equal(lines[5]?.suppressed, 95, 'the lines left out are reported')
  t.equal(await count(counter, { mode: 'proxy', reason: 'ambiguous_path' }), 101)
})

t.test('each reason has its own budget', async (t) => {
  const { report: r, lines } = report(2)
  for (let i = 0; i < 10; i++) {
    r.refused('forward_auth', Failures.PATH_NOT_NORMAL, { ip: '::1', path: '/%70' })
    r.refused('forward_auth', Failures.METHOD_OVERRIDE, { ip: '::1', path: '/orders' })
  }
  await new Promise((resolve) => setImmediate(resolve))
  t.same(lines.map((line) => line.reason), ['path_not_normal', 'method_override', 'path_not_normal', 'method_override'])
})

t.test('a line carries a short cut of the path, never more', async (t) => {
  const { report: r, lines } = report(5)
  r.refused('proxy', Failures.PATH_AMBIGUOUS, { ip: '192.0.2.7', path: '/' + 'a'.repeat(47) + 'SECRET-TAIL' })
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(lines[0]?.path, '/' + 'a'.repeat(47))
})
