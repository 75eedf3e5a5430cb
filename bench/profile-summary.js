// Reads a V8 .cpuprofile (node --cpu-prof) and prints where the busy time went:
// the top functions by self time, and the same time grouped by package.
//   node bench/profile-summary.js FILE.cpuprofile [--top 20] [--last SECONDS]
import { readFileSync } from 'node:fs'
import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const IDLE = new Set(['(idle)', '(program)', '(garbage collector)'])
const root = fileURLToPath(new URL('..', import.meta.url))

function where (url) {
  if (url === '') return ''
  const path = url.startsWith('file://') ? fileURLToPath(url) : url
  return path.startsWith(root) ? relative(root, path) : path
}

/** The package (or area) a script belongs to: "fastify", "node:internal", "tokengate dist", ... */
export function packageOf (url) {
  const path = where(url)
  if (path === '') return '(native / V8)'
  const modules = path.lastIndexOf('node_modules/')
  if (modules !== -1) {
    const rest = path.slice(modules + 'node_modules/'.length).split('/')
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]
  }
  if (path.startsWith('node:')) return path.startsWith('node:internal') ? 'node:internal' : path
  if (path.startsWith('dist/')) return 'tokengate'
  return path
}

/**
 * Self time per function and per package, in ms; "(idle)" etc. are reported
 * apart. `lastMs` keeps only the end of the profile (the measured load, not
 * start-up and module loading).
 */
export function summarise (profile, top = 20, lastMs = Infinity) {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]))
  const self = new Map()
  const times = new Float64Array(profile.samples.length)
  for (let i = 0, t = 0; i < profile.samples.length; i++) times[i] = t += (profile.timeDeltas[i] ?? 0) / 1000
  const from = times.length === 0 ? 0 : times[times.length - 1] - lastMs
  for (let i = 0; i < profile.samples.length; i++) {
    if (times[i] < from) continue
    const id = profile.samples[i]
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000)
  }
  const functions = new Map()
  const packages = new Map()
  const special = {}
  let busy = 0
  for (const [id, ms] of self) {
    const { functionName, url, lineNumber } = nodes.get(id).callFrame
    if (IDLE.has(functionName)) {
      special[functionName] = (special[functionName] ?? 0) + ms
      if (functionName !== '(garbage collector)') continue
    }
    busy += ms
    const name = `${functionName || '(anonymous)'} ${where(url)}${url ? `:${lineNumber + 1}` : ''}`.trim()
    functions.set(name, (functions.get(name) ?? 0) + ms)
    const pkg = functionName === '(garbage collector)' ? '(garbage collector)' : packageOf(url)
    packages.set(pkg, (packages.get(pkg) ?? 0) + ms)
  }
  const ranked = (map) => [...map].sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([name, ms]) => ({ name, selfMs: Math.round(ms), percent: Math.round((ms / busy) * 1000) / 10 }))
  return {
    busyMs: Math.round(busy),
    idleMs: Math.round(special['(idle)'] ?? 0),
    gcMs: Math.round(special['(garbage collector)'] ?? 0),
    functions: ranked(functions),
    packages: ranked(packages)
  }
}

export function formatSummary (title, summary) {
  const lines = [`${title}: busy ${summary.busyMs} ms (GC ${summary.gcMs} ms), idle ${summary.idleMs} ms`, '  self time by package:']
  for (const p of summary.packages) lines.push(`    ${String(p.percent).padStart(5)}%  ${String(p.selfMs).padStart(6)} ms  ${p.name}`)
  lines.push('  top functions by self time:')
  for (const f of summary.functions) lines.push(`    ${String(f.percent).padStart(5)}%  ${String(f.selfMs).padStart(6)} ms  ${f.name}`)
  return lines.join('\n')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '20' }, last: { type: 'string' } } })
  if (positionals.length === 0) {
    process.stderr.write('usage: node bench/profile-summary.js FILE.cpuprofile [--top 20] [--last SECONDS]\n')
    process.exit(2)
  }
  for (const file of positionals) {
    process.stdout.write(formatSummary(file, summarise(JSON.parse(readFileSync(file, 'utf8')), Number(values.top), values.last === undefined ? Infinity : Number(values.last) * 1000)) + '\n\n')
  }
}
