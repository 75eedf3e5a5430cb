import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const DEPLOY = join(ROOT, 'deploy')

export type Doc = Record<string, any>

export interface YamlFile {
  /** Path relative to the repository root. */
  readonly path: string
  readonly docs: Doc[]
  readonly errors: string[]
}

function walk (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    return entry.isDirectory() ? walk(path) : [path]
  })
}

export function yamlFiles (dir = DEPLOY): YamlFile[] {
  return walk(dir).filter((path) => /\.ya?ml$/.test(path)).sort().map((path) => {
    const parsed = parseAllDocuments(readFileSync(path, 'utf8'))
    const list = Array.isArray(parsed) ? parsed : [parsed]
    return {
      path: relative(ROOT, path),
      docs: list.map((doc) => doc.toJS() as Doc).filter((doc) => doc !== null),
      errors: list.flatMap((doc) => doc.errors.map((err) => err.message))
    }
  })
}

/** The documents of one YAML file, by its path from the repository root. */
export function docsOf (path: string): Doc[] {
  const parsed = parseAllDocuments(readFileSync(join(ROOT, path), 'utf8'))
  return (Array.isArray(parsed) ? parsed : [parsed]).map((doc) => doc.toJS() as Doc).filter((doc) => doc !== null)
}

/**
 * Every environment variable the config module reads: the upper-case string
 * literals of src/config/*.ts (all of them are passed to EnvReader calls).
 */
export function configVariables (): Set<string> {
  const dir = join(ROOT, 'src', 'config')
  const names = new Set<string>()
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.ts'))) {
    for (const match of readFileSync(join(dir, file), 'utf8').matchAll(/'([A-Z][A-Z_]*[A-Z])'/g)) names.add(match[1])
  }
  return names
}

/** Kubernetes objects under deploy/kubernetes, each with the file it came from. */
export function kubernetesObjects (): Array<Doc & { file: string }> {
  return yamlFiles(join(DEPLOY, 'kubernetes'))
    .flatMap((file) => file.docs.filter((doc) => typeof doc.kind === 'string' && !/^Kustomization|Component$/.test(doc.kind)).map((doc) => ({ ...doc, file: file.path })))
}

export function containers (deployment: Doc): Doc[] {
  return deployment.spec?.template?.spec?.containers ?? []
}

/** The container of that name; throws when the manifest has none. */
export function container (deployment: Doc, name: string): Doc {
  const found = containers(deployment).find((c) => c.name === name)
  if (found === undefined) throw new Error(`no container ${name} in Deployment ${String(deployment.metadata?.name)}`)
  return found
}
