#!/usr/bin/env node
import { satisfies, tooOld } from './cli/node-version.js'

// Every entry point (`npm start`, the `tokengate` bin) starts here. The check runs before the
// commands are loaded: a static import graph is linked and evaluated as a whole, and a dependency
// that needs a newer Node.js would die with its own stack trace first.
if (!satisfies(process.version)) {
  process.stderr.write(tooOld(process.version) + '\n')
  process.exit(1)
}
await import('./cli/process.js')
