import { availableParallelism } from 'node:os'
import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { configProblems } from '../helpers/config.js'
import { SECRET } from '../helpers/tokens.js'

const REDIS = { JWT_SECRET: SECRET, REDIS_URL: 'redis://127.0.0.1:1' }

const problems = configProblems

t.test('one process by default; a count or "auto" (one per usable core) otherwise', async (t) => {
  t.equal(loadConfig({ JWT_SECRET: SECRET }).workers, 1)
  t.equal(loadConfig({ ...REDIS, WORKERS: '3' }).workers, 3)
  t.equal(loadConfig({ ...REDIS, WORKERS: 'auto' }).workers, Math.min(availableParallelism(), 64))
  t.equal(loadConfig({ JWT_SECRET: SECRET, WORKERS: '1' }).workers, 1, 'one worker needs no Redis')
})

t.test('a value that is not a count stops start-up naming WORKERS', async (t) => {
  for (const value of ['0', '65', '-2', 'two', '1.5']) {
    t.match(problems({ ...REDIS, WORKERS: value }), [/^WORKERS: ".*" is not "auto" or an integer from 1 to 64$/], value)
  }
})

t.test('several workers with the memory store are refused: each would keep its own revocation list', async (t) => {
  t.match(problems({ JWT_SECRET: SECRET, WORKERS: '2' }), [/^WORKERS: 2 workers need shared revocation state: set REDIS_URL/])
})

t.test('several workers with a made-up development key are refused: each would make up its own', async (t) => {
  t.match(problems({ REDIS_URL: 'redis://127.0.0.1:1', WORKERS: '2' }), [/^WORKERS: 2 workers need a configured key/])
})
