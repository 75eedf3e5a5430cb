// Imported first by the entry point (src/main.ts), before anything that needs a newer Node.js:
// no imports, and only syntax every Node.js since 14 parses.

/** package.json's engines.node (a test keeps them equal). */
export const REQUIRED_NODE = '22.19.0'

function parts (version: string): number[] {
  return version.replace(/^v/, '').split('.').map((part) => parseInt(part, 10) || 0)
}

/** Whether `found` (process.version, "v20.20.2") is at least `required` ("22.19.0"). */
export function satisfies (found: string, required: string = REQUIRED_NODE): boolean {
  const a = parts(found)
  const b = parts(required)
  for (let i = 0; i < 3; i++) {
    if ((a[i] || 0) !== (b[i] || 0)) return (a[i] || 0) > (b[i] || 0)
  }
  return true
}

/** The one line an older Node.js gets instead of a stack trace from a dependency. */
export function tooOld (found: string): string {
  return `tokengate needs Node.js ${REQUIRED_NODE} or newer; this is Node.js ${found}`
}
