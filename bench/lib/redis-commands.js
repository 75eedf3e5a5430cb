import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'

// Which part of tokengate issues a command, by name (INFO commandstats counts commands run inside
// scripts and transactions under their own names too). The decision path: revocation lookups and
// their confirmations. Monitoring: the theft detector (HMGET/HSET/EXPIREAT in its batched script;
// MULTI on a per-token set for a second address), the failure windows and the stored alerts.
// EVALSHA itself is counted with the decision path (lookups may be scripts); the monitor's is one
// per 1,000 new tokens. Everything else (the revocation feed,
// pub/sub, health probes) is background and reported as `other`. Every name is kept in the results.
const DECISION = new Set(['get', 'mget', 'exists', 'evalsha', 'eval', 'hget', 'sismember', 'smismember', 'zscore'])
const MONITORING = new Set(['set', 'multi', 'exec', 'zadd', 'zremrangebyscore', 'zremrangebyrank', 'zcard', 'expire',
  'hincrby', 'hgetall', 'hdel', 'lpush', 'ltrim', 'lrange', 'hmget', 'hset', 'expireat'])
// Our own INFO calls, and connection upkeep.
const IGNORED = new Set(['info', 'config', 'client', 'ping', 'hello', 'select', 'auth', 'command'])

// The monitor flushes every 200 ms: a snapshot waits for the flush of what was just sent.
const FLUSH_WAIT_MS = 300

function parse (info) {
  const calls = new Map()
  for (const [, name, n] of info.matchAll(/cmdstat_([^:]+):calls=(\d+)/g)) {
    const base = name.split('|')[0]
    if (!IGNORED.has(base)) calls.set(name, (calls.get(name) ?? 0) + Number(n))
  }
  return calls
}

/** Counts the commands the bench's Redis executes, from INFO commandstats before and after a run. */
export class CommandCounter {
  #client

  constructor (port) {
    this.#client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, lazyConnect: true })
    this.#client.on('error', () => {})
  }

  async snapshot () {
    await sleep(FLUSH_WAIT_MS)
    return parse(await this.#client.info('commandstats'))
  }

  /** Commands per request between two snapshots: decision path, monitoring, other, and each name. */
  static perRequest (before, after, requests) {
    const byCommand = {}
    const sums = { decision: 0, monitoring: 0, other: 0 }
    for (const [name, n] of after) {
      const delta = n - (before.get(name) ?? 0)
      if (delta <= 0) continue
      byCommand[name] = delta
      const base = name.split('|')[0]
      sums[DECISION.has(base) ? 'decision' : MONITORING.has(base) ? 'monitoring' : 'other'] += delta
    }
    const per = (n) => requests > 0 ? Math.round(n / requests * 10_000) / 10_000 : null
    return { requests, decision: per(sums.decision), monitoring: per(sums.monitoring), other: per(sums.other), byCommand }
  }

  close () {
    this.#client.disconnect()
  }
}
