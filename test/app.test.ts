import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { startGateway } from './helpers/gateway.js'
import { startUpstream } from './helpers/upstream.js'

const SRC = fileURLToPath(new URL('../src', import.meta.url))

function sources (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    return entry.isDirectory() ? sources(path) : entry.name.endsWith('.ts') ? [path] : []
  })
}

/** Every property a `declare module 'fastify'` block adds to FastifyRequest. */
function requestProperties (files: string[]): string[] {
  return files.flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/interface FastifyRequest \{([^}]*)\}/g)]
    .flatMap((block) => [...block[1].matchAll(/^\s*(\w+)\??:/gm)].map((property) => property[1])))
}

// Fastify builds each request from one constructor holding every decorated property; a
// property assigned later gives requests different shapes (slower, and easy to read unset).
t.test('every property tokengate declares on FastifyRequest is decorated with decorateRequest', async (t) => {
  const files = sources(SRC)
  const all = files.map((file) => readFileSync(file, 'utf8')).join('\n')
  const properties = requestProperties(files)
  t.ok(properties.length >= 3, `found ${properties.join(', ')}`)
  for (const property of properties) t.match(all, `decorateRequest('${property}'`, property)
})

t.test('request properties set in more than one plugin context are decorated on the root instance, in both modes', async (t) => {
  const upstream = await startUpstream(t)
  for (const env of [{}, { UPSTREAM_URL: upstream.url }]) {
    const gw = await startGateway(t, env)
    for (const property of ['tokengateClaims', 'tokengateForwardedAt']) {
      t.ok(gw.app.hasRequestDecorator(property), `${property} (${env.UPSTREAM_URL === undefined ? 'forward-auth' : 'proxy'})`)
    }
  }
})
