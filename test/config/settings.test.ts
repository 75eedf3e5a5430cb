import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import t from 'tap'
import { CLIENT_VARIABLES, configFileSchema, ENVIRONMENT_ONLY, SETTINGS, SETTING_NAMES } from '../../src/config/settings.js'

const ROOT = resolve(import.meta.dirname, '../..')

// The names the readers of src/config/ read (r.int('PORT'), r.raw('WORKERS'), ...), as docs.test.ts finds them.
function namesRead (): Set<string> {
  const dir = join(ROOT, 'src/config')
  const sources = readdirSync(dir).map((name) => readFileSync(join(dir, name), 'utf8')).join('\n')
  const read = [...sources.matchAll(/\br\.[a-zA-Z]+\('([A-Z][A-Z0-9_]+)'/g)].map((match) => match[1] as string)
  // Read through a constant: the access rules' two variables and SSF_TRANSMITTERS.
  return new Set([...read, 'ACCESS_RULES', 'ACCESS_RULES_FILE', 'SSF_TRANSMITTERS'])
}

t.test('the settings table lists exactly the variables the configuration reads', async (t) => {
  const read = namesRead()
  const gateway = [...read].filter((name) => !CLIENT_VARIABLES.includes(name) && !ENVIRONMENT_ONLY.test(name))
  t.same(gateway.filter((name) => !SETTING_NAMES.has(name)), [], 'read but not in the table (settings.ts)')
  t.same(SETTINGS.map(({ name }) => name).filter((name) => !read.has(name)), [], 'in the table but read by no reader')
})

t.test('docs/configuration.md documents every setting, and names those that change on reload', async (t) => {
  const reference = readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8')
  for (const { name } of SETTINGS) t.ok(reference.includes(`| \`${name}\` |`), `${name} has a row`)
  const reloadSection = reference.slice(reference.indexOf('## Reloading'))
  for (const { name, live } of SETTINGS) if (live) t.ok(reloadSection.includes(`\`${name}\``), `${name} is named as changing live`)
})

t.test('the published JSON Schema is the one the table generates (tokengate config schema > docs/tokengate-config.schema.json)', async (t) => {
  const published = JSON.parse(readFileSync(join(ROOT, 'docs/tokengate-config.schema.json'), 'utf8')) as { properties: object, additionalProperties: boolean }
  t.same(published, configFileSchema())
  t.same(Object.keys(published.properties), SETTINGS.map(({ name }) => name), 'one key per setting')
  t.equal(published.additionalProperties, false, 'unknown keys are errors')
})
