import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'

// Every proxy recipe in the docs is a file under deploy/ that test/deploy runs (nginx, Caddy) or
// simulates (Traefik): a block may not drift from the tested file, nor be a hand-made excerpt.

const ROOT = new URL('../../', import.meta.url)
const read = (path: string): string => readFileSync(new URL(path, ROOT), 'utf8')

/** The tested recipes, by the fence language the docs use for them. */
const TESTED: Record<string, string[]> = {
  nginx: ['deploy/nginx/tokengate.conf'],
  caddyfile: ['deploy/caddy/Caddyfile'],
  caddy: ['deploy/caddy/Caddyfile'],
  traefik: ['deploy/traefik/dynamic.yml', 'deploy/traefik/middleware.yaml']
}

interface Block { readonly file: string, readonly line: number, readonly lang: string, readonly text: string }

function blocks (file: string): Block[] {
  const found: Block[] = []
  const lines = read(file).split('\n')
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i])
    if (open === null) continue
    const end = lines.indexOf('```', i + 1)
    found.push({ file, line: i + 1, lang: open[1], text: lines.slice(i + 1, end).join('\n') + '\n' })
    i = end
  }
  return found
}

/** The kind of proxy a block configures, if any: by its fence, or by what it holds (a YAML Traefik middleware, nginx directives). */
function recipeKind (block: Block): string | null {
  if (block.lang in TESTED) return block.lang
  if (/forwardAuth:|traefik\.io\/v1alpha1/.test(block.text)) return 'traefik'
  if (/^\s*(auth_request|proxy_pass|proxy_set_header)\s/m.test(block.text)) return 'nginx'
  if (/^\s*(forward_auth|reverse_proxy)\s/m.test(block.text)) return 'caddy'
  return null
}

const markdown = ['README.md', ...readdirSync(new URL('docs/', ROOT)).filter((f) => f.endsWith('.md')).map((f) => join('docs', f))]
const recipes = markdown.flatMap(blocks).flatMap((block) => { const kind = recipeKind(block); return kind === null ? [] : [{ ...block, kind }] })

t.test('the docs show the nginx, Caddy and Traefik recipes', async (t) => {
  for (const kind of ['nginx', 'traefik']) t.ok(recipes.some((r) => r.kind === kind), `a ${kind} block`)
  t.ok(recipes.some((r) => r.kind === 'caddy' || r.kind === 'caddyfile'), 'a Caddy block')
})

t.test('every recipe block in the docs is, whole, a tested file under deploy/', async (t) => {
  for (const recipe of recipes) {
    const files = TESTED[recipe.kind]
    const match = files.find((path) => read(path) === recipe.text)
    t.ok(match, `${recipe.file}:${recipe.line} (${recipe.kind}) is exactly one of ${files.join(', ')}: copy the file into the block`)
  }
})
