export { loadConfig } from './load.js'
export type { Env } from './env-reader.js'
export type * from './types.js'
