import t from 'tap'
import { stringify } from 'yaml'
import { configFileSchema } from '../../src/config/settings.js'
import { runCli, runCommand } from '../helpers/cli.js'
import { tempFile } from '../helpers/temp-dir.js'
import { SECRET } from '../helpers/tokens.js'

t.test('config check FILE: a valid file exits 0 and prints the effective configuration, secrets redacted', async (t) => {
  const file = tempFile(t, 'tokengate.yaml', stringify({ JWT_SECRET: SECRET, FAIL_MODE: 'closed', PUBLIC_PATHS: ['/health'], REDIS_URL: 'redis://:hunter2@redis:6379' }))
  const run = await runCommand(['config', 'check', file], { PORT: '9000', NODE_ENV: 'test' })
  t.equal(run.code, 0)
  t.match(run.stdout, /valid/)
  t.match(run.stdout, /FAIL_MODE=closed {4}# file/)
  t.match(run.stdout, /PORT=9000 {4}# environment/)
  t.match(run.stdout, /JWT_SECRET=\[redacted\]/)
  t.match(run.stdout, /REDIS_URL=redis:\/\/\[redacted\]@redis:6379/)
  t.notOk(run.stdout.includes(SECRET) || run.stdout.includes('hunter2'), 'no secret printed')
})

t.test('config check FILE: an invalid file exits 1 naming every problem, the environment\'s too', async (t) => {
  const file = tempFile(t, 'tokengate.yaml', stringify({ JWT_SECRET: SECRET, FAILMODE: 'closed', PORT: 'eighty' }))
  const run = await runCommand(['config', 'check', file], { WORKER: '2' })
  t.equal(run.code, 1)
  t.match(run.stderr, /invalid; 3 problems/)
  t.match(run.stderr, /FAILMODE: unknown key; did you mean FAIL_MODE\?/)
  t.match(run.stderr, /PORT: "eighty" is not an integer/)
  t.match(run.stderr, /WORKER: not a tokengate variable; did you mean WORKERS\?/)
})

t.test('config: usage errors exit 2; config schema prints the published schema', async (t) => {
  for (const args of [['config'], ['config', 'check'], ['config', 'check', 'a', 'b'], ['config', 'validate', 'a']]) {
    const run = await runCommand(args)
    t.equal(run.code, 2, args.join(' '))
    t.match(run.stderr, /usage:/)
  }
  const schema = await runCommand(['config', 'schema'])
  t.equal(schema.code, 0)
  t.same(JSON.parse(schema.stdout), configFileSchema())
})

t.test('the bin: config check exits 0, 1 and 2', async (t) => {
  const good = tempFile(t, 'good.yaml', stringify({ JWT_SECRET: SECRET }))
  const bad = tempFile(t, 'bad.yaml', stringify({ JWT_SECRET: SECRET, FAILMODE: 'closed' }))
  t.equal((await runCli(['config', 'check', good])).code, 0)
  t.equal((await runCli(['config', 'check', bad])).code, 1)
  t.equal((await runCli(['config', 'check'])).code, 2)
})
