import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ROOT } from './deploy-files.js'

// No container engine runs on this machine (docker is only a client): the
// image is checked by its structure here and built by CI elsewhere.

interface Instruction { readonly op: string, readonly args: string }
interface Stage { readonly from: string, readonly name: string | null, readonly instructions: Instruction[] }

function stages (text: string): Stage[] {
  const out: Stage[] = []
  const joined = text.replace(/\\\n/g, ' ')
  for (const line of joined.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))) {
    const [, op, args] = /^(\w+)\s+(.*)$/.exec(line) ?? [line, line, '']
    if (op.toUpperCase() === 'FROM') {
      const [, from, name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args) ?? []
      out.push({ from, name: name ?? null, instructions: [] })
    } else {
      out.at(-1)?.instructions.push({ op: op.toUpperCase(), args })
    }
  }
  return out
}

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
const all = stages(dockerfile)
const final = all.at(-1) as Stage
const ops = (stage: Stage, op: string): string[] => stage.instructions.filter((i) => i.op === op).map((i) => i.args)
const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))

t.test('multi-stage on a small Node 24 base: build, production dependencies, runtime', async (t) => {
  t.ok(all.length >= 2, `${all.length} stages`)
  for (const stage of all) t.match(stage.from, /^node:24-(slim|alpine)/, `${stage.name ?? 'final'} starts from ${stage.from}`)
  const build = all.find((s) => s.name === 'build') as Stage
  t.ok(ops(build, 'RUN').some((r) => /npm ci\b/.test(r)), 'build: npm ci from the lock file')
  t.ok(ops(build, 'RUN').some((r) => /npm run build/.test(r)), 'build: npm run build')
  const prodInstall = all.flatMap((s) => ops(s, 'RUN')).find((r) => /npm ci\b.*--omit=dev/.test(r))
  t.match(prodInstall, /--ignore-scripts/, 'production install skips "prepare" (the build needs dev dependencies)')
  t.notOk(ops(final, 'RUN').some((r) => /npm (ci|install)\b(?!.*--omit=dev)/.test(r)), 'no dev dependency install in the final image')
  t.ok(ops(final, 'COPY').some((c) => /--from=build\s+\/app\/dist\b/.test(c)), 'the final stage takes dist/ from the build stage')
})

t.test('runs as a non-root user, node dist/main.js as PID 1, a HEALTHCHECK on /healthz', async (t) => {
  const user = ops(final, 'USER').at(-1)
  t.ok(user !== undefined && !/^(root|0)(:|$)/.test(user), `USER ${user}`)
  t.same(JSON.parse(ops(final, 'ENTRYPOINT').at(-1) ?? 'null'), ['node', 'dist/main.js'], 'exec form: node receives SIGTERM itself')
  t.same(JSON.parse(ops(final, 'CMD').at(-1) ?? 'null'), ['serve'])
  const health = ops(final, 'HEALTHCHECK').at(-1) ?? ''
  t.match(health, /\/healthz/)
  t.notMatch(health, /\bcurl\b|\bwget\b/, 'no curl or wget in a slim image: node does the request')
  const port = /PORT=(\d+)/.exec(ops(final, 'ENV').join(' '))?.[1]
  t.equal(ops(final, 'EXPOSE').at(-1), port, 'EXPOSE matches ENV PORT')
  t.match(ops(final, 'ENV').join(' '), /NODE_ENV=production/)
})

t.test('every COPY source exists in the build context and is not excluded by .dockerignore', async (t) => {
  const copies = all.flatMap((s) => ops(s, 'COPY')).filter((c) => !c.startsWith('--from='))
  t.ok(copies.length >= 3)
  for (const copy of copies) {
    const parts = copy.split(/\s+/).filter((p) => !p.startsWith('--'))
    for (const source of parts.slice(0, -1)) {
      t.ok(existsSync(join(ROOT, source)), `${source} exists`)
      t.notOk(ignored.some((pattern) => pattern === source || source.startsWith(`${pattern}/`)), `${source} is in the context`)
    }
  }
  for (const required of ['node_modules', 'dist', '.git', '.env', '*.pem']) t.ok(ignored.includes(required), `.dockerignore excludes ${required}`)
})
