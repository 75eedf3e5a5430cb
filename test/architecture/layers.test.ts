import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import t from 'tap'

const SRC = resolve(import.meta.dirname, '../../src')
const RUNNER = 'serve.ts'
const APP = 'app.ts'
// config/ maps the environment onto each component's own options type: only these read it.
const READ_CONFIG = new Set(['config/', 'main.ts', RUNNER, APP, 'cluster/', 'cli/'])

// `import … from`, `import type … from`, `export … from` (over several lines), `import '…'`, `import('…')`.
const IMPORT = /^[ \t]*(?:import|export)[\w$\s{},*]*?\bfrom\s*['"]([^'"]+)['"]|^[ \t]*import\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]/gm

function specifiers (source: string): string[] {
  return [...source.matchAll(IMPORT)].map((m) => m[1] ?? m[2] ?? m[3] ?? '')
}

function sourceFiles (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith('.ts') ? [path] : []
  })
}

/** A top-level folder of src/ (`tokens/`), or a file directly in src/ on its own (`errors.ts`). */
function unitOf (path: string): string {
  const [first, ...rest] = relative(SRC, path).split(sep)
  return rest.length === 0 ? first : `${first}/`
}

interface Edge { readonly from: string, readonly to: string, readonly file: string, readonly target: string }

function edges (): Edge[] {
  return sourceFiles(SRC).flatMap((file) => specifiers(readFileSync(file, 'utf8'))
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => {
      const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts')
      return { from: unitOf(file), to: unitOf(target), file: relative(SRC, file), target: relative(SRC, target) }
    }))
}

t.test('the import parser sees every form of import and re-export', async (t) => {
  const source = [
    "import t from 'a'",
    "import type { A } from './b.js'",
    'import {',
    '  c,',
    '  type D',
    "} from '../c.js'",
    'import * as e from "./e.js"',
    "import f, { g } from './f.js'",
    "import './side-effect.js'",
    "export { h } from './h.js'",
    "export type { I } from './i.js'",
    "export * from './j.js'",
    "export * as k from './k.js'",
    "const l = await import('./l.js')",
    "export const m = 'not an import'",
    "const n = Buffer.from('not an import')"
  ].join('\n')
  t.same(specifiers(source), [
    'a', './b.js', '../c.js', './e.js', './f.js', './side-effect.js',
    './h.js', './i.js', './j.js', './k.js', './l.js'
  ])
})

t.test('no two folders of src/ import each other, type-only imports included', async (t) => {
  const example = new Map<string, string>()
  for (const edge of edges()) {
    const key = `${edge.from} -> ${edge.to}`
    if (edge.from !== edge.to && !example.has(key)) example.set(key, edge.file)
  }
  const cycles: string[] = []
  for (const [key, file] of example) {
    const [from, to] = key.split(' -> ')
    const back = example.get(`${to} -> ${from}`)
    if (back !== undefined && from < to) cycles.push(`${from} <-> ${to} (${file} imports ${to}, ${back} imports ${from})`)
  }
  t.same(cycles, [], 'folders that import each other')
})

t.test('nothing imports the composition root but the process runner', async (t) => {
  const importers = edges().filter((edge) => edge.target === APP && edge.file !== RUNNER).map((edge) => edge.file)
  t.same([...new Set(importers)], [], `files importing src/${APP}`)
})

t.test('components receive their options: only the runners and the composition root import config/', async (t) => {
  const readers = edges().filter((edge) => edge.to === 'config/' && !READ_CONFIG.has(edge.from)).map((edge) => edge.file)
  t.same([...new Set(readers)], [], 'components importing src/config/')
})
