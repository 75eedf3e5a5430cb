import { readFileSync } from 'node:fs'
import { extname } from 'node:path'
import { Ajv, type ValidateFunction } from 'ajv'
import { parse as parseYaml } from 'yaml'
import { where } from './json-document.js'
import { probablyMeant } from './near-miss.js'
import { CONFIG_FILE_VARIABLE, configFileSchema, SETTINGS } from './settings.js'
import type { Env } from './env-reader.js'

// Compiled when a file is first read: a start without TOKENGATE_CONFIG does not pay for it.
let compiled: ValidateFunction | null = null
const validator = (): ValidateFunction => (compiled ??= new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(configFileSchema()))
const KIND = new Map(SETTINGS.map((setting) => [setting.name, setting.kind]))

/** What the configuration file says, as the environment would say it, or the problems that stop it. */
export interface ConfigFile {
  readonly values: Readonly<Record<string, string>>
  readonly problems: readonly string[]
}

function asVariable (name: string, value: unknown): string {
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  // A list in YAML is the comma list of the environment; a document is its inline JSON.
  if (KIND.get(name) === 'list' && Array.isArray(value)) return value.join(',')
  return JSON.stringify(value)
}

/** Reads and validates the file TOKENGATE_CONFIG names (YAML, or JSON by a .json name); every problem named. */
export function readConfigFile (path: string): ConfigFile {
  const problem = (message: string): ConfigFile => ({ values: {}, problems: [`${CONFIG_FILE_VARIABLE}: ${message}`] })
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    return problem(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  let document: unknown
  try {
    // YAML is a superset of JSON, but a .json file is read by the stricter parser.
    document = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text)
  } catch (err) {
    return problem(`${path} does not parse (${(err as Error).message.split('\n')[0].slice(0, 120)})`)
  }
  if (document === null || document === undefined) return { values: {}, problems: [] }
  const problems: string[] = []
  const broken = new Set<string>()
  const validate = validator()
  if (!validate(document)) {
    const errors = validate.errors ?? []
    for (const error of errors) {
      const at = where(error.instancePath)
      if (error.keyword === 'additionalProperties') {
        const key = String(error.params.additionalProperty)
        const meant = probablyMeant(key)
        problems.push(`${CONFIG_FILE_VARIABLE}: ${path}: ${key}: unknown key${meant === null ? ' (the keys are the variables of docs/configuration.md)' : `; did you mean ${meant}?`}`)
        continue
      }
      broken.add(at)
      // anyOf's branches are summed up by the anyOf itself.
      if (error.keyword !== 'anyOf' && errors.some((other) => other.keyword === 'anyOf' && other.instancePath === error.instancePath)) continue
      const expected = error.keyword === 'anyOf' ? 'a string or a list' : at === '' ? 'a mapping of variables to values' : 'a string, number or boolean'
      problems.push(`${CONFIG_FILE_VARIABLE}: ${path}: ${at === '' ? '' : `${at}: `}must be ${expected}`)
    }
    if (broken.has('')) return { values: {}, problems }
  }
  // The valid keys are read on, so that their own problems are named with the file's.
  const values = Object.fromEntries(Object.entries(document as Record<string, unknown>)
    .filter(([name, value]) => value !== null && KIND.has(name) && !broken.has(name))
    .map(([name, value]) => [name, asVariable(name, value)]))
  return { values, problems }
}

/** Where each effective setting came from. */
export type Source = 'file' | 'environment'

export interface MergedEnvironment {
  /** The file's values, overridden by the environment's. */
  readonly env: Env
  readonly sources: ReadonlyMap<string, Source>
  readonly file: string | null
  readonly problems: readonly string[]
}

/** The environment over the configuration file: every variable set in the environment wins. */
export function mergeConfigFile (env: Env): MergedEnvironment {
  const path = env[CONFIG_FILE_VARIABLE]?.trim()
  const sources = new Map<string, Source>()
  for (const [name, value] of Object.entries(env)) if (value !== undefined && value.trim() !== '') sources.set(name, 'environment')
  if (path === undefined || path === '') return { env, sources, file: null, problems: [] }
  const file = readConfigFile(path)
  for (const name of Object.keys(file.values)) if (!sources.has(name)) sources.set(name, 'file')
  const merged: Record<string, string | undefined> = { ...file.values }
  for (const [name, value] of Object.entries(env)) if (value !== undefined && value.trim() !== '') merged[name] = value
  return { env: merged, sources, file: path, problems: file.problems }
}
