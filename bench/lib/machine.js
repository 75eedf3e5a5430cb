import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus, totalmem, release } from 'node:os'
import { readNginxVersion } from './nginx.js'
import { redisVersion } from './redis.js'

function packageVersion (name) {
  try {
    return JSON.parse(readFileSync(new URL(`../../node_modules/${name}/package.json`, import.meta.url), 'utf8')).version
  } catch {
    return null
  }
}

function gitCommit () {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim() !== ''
    return dirty ? `${head} (src modified)` : head
  } catch {
    return null
  }
}

/** What the figures were measured on: they mean nothing without it. */
export function describeMachine () {
  const list = cpus()
  return {
    cpus: list.length,
    cpuModel: list[0]?.model ?? null,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    fastify: packageVersion('fastify'),
    replyFrom: packageVersion('@fastify/reply-from'),
    fastJwt: packageVersion('fast-jwt'),
    ioredis: packageVersion('ioredis'),
    autocannon: packageVersion('autocannon'),
    redis: redisVersion(),
    nginx: readNginxVersion(),
    tokengate: gitCommit(),
    date: new Date().toISOString()
  }
}
