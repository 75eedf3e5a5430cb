import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT, type Doc } from './deploy-files.js'

// Kubernetes objects checked against the schemas of kubernetes-models (the Kubernetes OpenAPI
// definitions, compiled) and, for the Prometheus Operator's CRDs, @kubernetes-models/prometheus-operator.

/** The module of an object's model: `kubernetes-models/<group>/<version>/<Kind>`, the core group's at `v1/<Kind>`. */
export function modelModule (apiVersion: string, kind: string): string {
  if (apiVersion.startsWith('monitoring.coreos.com/')) return `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`
  return `kubernetes-models/${apiVersion}/${kind}`
}

interface Validatable { validate: () => void }
type ModelClass = new (data: Doc) => Validatable

async function model (apiVersion: string, kind: string): Promise<ModelClass | undefined> {
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(apiVersion) || !/^[A-Z]\w*$/.test(kind)) return undefined
  try {
    const mod = await import(modelModule(apiVersion, kind)) as Record<string, unknown>
    return typeof mod[kind] === 'function' ? mod[kind] as ModelClass : undefined
  } catch {
    return undefined
  }
}

const name = (doc: Doc): string => `${doc.kind}/${doc.metadata?.name}`

/**
 * What the schemas refuse in each object: wrong types, missing required fields, values outside
 * an enum, and any apiVersion/kind with no schema. Empty when every object is valid. Unknown
 * fields pass: the compiled schemas allow additional properties (see unknownFields).
 */
export async function schemaErrors (docs: Doc[]): Promise<string[]> {
  const errors: string[] = []
  for (const doc of docs) {
    const Model = await model(String(doc.apiVersion), String(doc.kind))
    if (Model === undefined) {
      errors.push(`${name(doc)}: no schema for ${doc.apiVersion} ${doc.kind}`)
      continue
    }
    try {
      new Model(doc).validate()
    } catch (err) {
      errors.push(`${name(doc)}: ${(err as Error).message}`)
    }
  }
  return errors
}

/**
 * Fields the schemas do not know, at any depth (a misspelt `enableServiceLink`, a field at the
 * wrong level): each object is written as a TypeScript literal of its model's interface
 * (`IDeployment`, ...), which the packages ship with every field of the schema, and tsc's excess
 * property check refuses the others; it also refuses wrong types. The packages ship no JSON
 * schema, only compiled validators that let unknown fields through. One tsc run for every set
 * of objects; returns tsc's messages by set, each after its object's kind/name, [] for a set without any.
 */
export function unknownFields (sets: Record<string, Doc[]>): Record<string, string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'tg-k8s-types-'))
  try {
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n')
    const files = Object.keys(sets).map((_, i) => `set${i}.ts`)
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2024', skipLibCheck: true, types: [] },
      files
    }))
    Object.values(sets).forEach((docs, i) => {
      const lines = docs.flatMap((doc, j) => [
        `import type { I${doc.kind} as T${j} } from '${modelModule(String(doc.apiVersion), String(doc.kind))}'`,
        `export const o${j}: T${j} = ${JSON.stringify(doc)}`
      ])
      writeFileSync(join(dir, files[i]!), lines.join('\n') + '\n')
    })
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.', '--pretty', 'false'], { cwd: dir, encoding: 'utf8' })
    // A message is its first line and the indented lines after it.
    const messages = `${tsc.stdout}${tsc.stderr}`.split(/\n(?=\S)/).map((m) => m.trim()).filter((m) => m !== '')
    if (tsc.status !== 0 && !messages.some((l) => /^set\d+\.ts\(/.test(l))) throw new Error(`tsc: ${messages.join('\n')}`)
    // set<i>.ts(<line>,<column>): object j is on line 2j + 2.
    return Object.fromEntries(Object.values(sets).map((docs, i) => [Object.keys(sets)[i], messages.flatMap((m) => {
      const at = m.match(/^set(\d+)\.ts\((\d+),/)
      if (at === null || Number(at[1]) !== i) return []
      const doc = docs[Math.floor((Number(at[2]) - 2) / 2)]
      return [`${doc === undefined ? '?' : name(doc)}: ${m}`]
    })]))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
