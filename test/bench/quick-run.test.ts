import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { tempDir } from '../helpers/temp-dir.js'

// `npm run bench` keeps running: its quick mode on one scenario (bare node:http, no tokengate, no
// Redis) must measure the server's CPU per request beside throughput and say whether the load
// generator was the bottleneck.
const run = promisify(execFile)

t.test('bench --quick measures one scenario: req/s, server CPU per request, generator load', async (t) => {
  const out = join(tempDir(t, 'tokengate-bench-test-'), 'quick.json')
  const { stdout } = await run(process.execPath, ['bench/run.js', '--quick', '--only', '^bare node:http', '--out', out], { timeout: 20_000 })
  t.match(stdout, /server µs\/req/)
  const report = JSON.parse(readFileSync(out, 'utf8'))
  t.equal(report.quick, true)
  t.equal(report.scenarios.length, 1)
  const [row] = report.scenarios
  t.equal(row.key, 'node-http')
  t.ok(row.rps > 0, `req/s ${row.rps}`)
  t.ok(row.cpuUs > 0, `server CPU ${row.cpuUs} µs per request`)
  t.ok(row.generatorCore > 0 && row.generatorCore <= 1.5, `generator used ${row.generatorCore} of a core`)
  t.equal(row.non2xx, 0)
  t.ok(Array.isArray(report.loadAverage.start))
  t.match(readFileSync(out.replace(/\.json$/, '.md'), 'utf8'), /\| bare node:http empty 200 \|/)
})
