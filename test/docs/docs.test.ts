import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import t from 'tap'
import { Failures } from '../../src/errors.js'

const ROOT = resolve(import.meta.dirname, '../..')
const DOCS = join(ROOT, 'docs')
const pages = ['README.md', 'ARCHITECTURE.md', ...readdirSync(DOCS).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)]

/** Markdown links outside code blocks: [text](target). */
function linksOf (text: string): string[] {
  const prose = text.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '')
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1] as string)
}

t.test('every docs/ page is linked from the README', async (t) => {
  const readme = linksOf(readFileSync(join(ROOT, 'README.md'), 'utf8'))
  for (const page of pages.filter((page) => page.startsWith('docs/'))) {
    t.ok(readme.some((link) => link.split('#')[0] === page), `${page} is linked from README.md`)
  }
})

t.test('no link points outside the repository, and every relative link resolves', async (t) => {
  for (const page of pages) {
    for (const link of linksOf(readFileSync(join(ROOT, page), 'utf8'))) {
      if (/^[a-z]+:/i.test(link)) {
        t.match(link, /^https:\/\/(www\.)?(rfc-editor\.org|datatracker\.ietf\.org|openid\.net)\//, `${page}: external link ${link} is a standard`)
        continue
      }
      const file = link.split('#')[0] as string
      if (file === '') continue
      const target = resolve(dirname(join(ROOT, page)), file)
      t.notOk(relative(ROOT, target).startsWith('..'), `${page}: ${link} stays inside the repository`)
      t.ok(existsSync(target), `${page}: ${link} exists`)
    }
  }
})

t.test('docs/errors.md lists every code of the error registry with its status and error', async (t) => {
  const text = readFileSync(join(DOCS, 'errors.md'), 'utf8')
  const rows = new Map([...text.matchAll(/^\| `(TG_ERR_[A-Z_]+)` \| (\d{3}) \| `([a-z_]+)` \|/gm)]
    .map((match) => [match[1] as string, { status: Number(match[2]), error: match[3] }]))
  const registry = Object.values(Failures)
  for (const failure of registry) {
    t.same(rows.get(failure.code), { status: failure.status, error: failure.error }, `${failure.code} is documented as ${failure.status} ${failure.error}`)
  }
  t.equal(rows.size, new Set(registry.map((failure) => failure.code)).size, 'no documented code is missing from the registry')
})

t.test('every variable the configuration reads is documented in docs/configuration.md', async (t) => {
  const reference = readFileSync(join(DOCS, 'configuration.md'), 'utf8')
  const sources = readdirSync(join(ROOT, 'src/config')).map((name) => readFileSync(join(ROOT, 'src/config', name), 'utf8')).join('\n')
  const names = new Set([...sources.matchAll(/\br\.[a-zA-Z]+\('([A-Z][A-Z0-9_]+)'/g)].map((match) => match[1] as string))
  t.ok(names.size > 50, `${names.size} variables read`)
  for (const name of names) t.ok(reference.includes(`\`${name}\``), `${name} is documented`)
})

t.test('every source and test file the docs name exists', async (t) => {
  for (const page of pages) {
    const text = readFileSync(join(ROOT, page), 'utf8')
    for (const file of new Set(text.match(/\b(?:src|test)\/[a-z0-9/-]+\.ts\b/g) ?? [])) {
      t.ok(existsSync(join(ROOT, file)), `${page}: ${file} exists`)
    }
  }
})
