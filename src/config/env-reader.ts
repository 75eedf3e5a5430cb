import { readFileSync } from 'node:fs'
import type { HostPort } from '../redis/redis-client.js'

export type Env = Readonly<Record<string, string | undefined>>

interface IntRule { min?: number, max?: number }

const DURATION_UNIT_S: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 }

/**
 * Reads typed values out of the environment and records every problem instead
 * of stopping at the first, so one start-up attempt reports all of them.
 */
export class EnvReader {
  readonly problems: string[] = []
  readonly #env: Env

  constructor (env: Env) {
    this.#env = env
  }

  raw (name: string): string | undefined {
    const value = this.#env[name]
    if (value === undefined) return undefined
    const trimmed = value.trim()
    return trimmed === '' ? undefined : trimmed
  }

  has (name: string): boolean {
    return this.raw(name) !== undefined
  }

  fail (name: string, message: string): void {
    this.problems.push(`${name}: ${message}`)
  }

  string (name: string, fallback: string): string {
    return this.raw(name) ?? fallback
  }

  optionalString (name: string): string | null {
    return this.raw(name) ?? null
  }

  int (name: string, fallback: number, rule: IntRule = {}): number {
    const value = this.raw(name)
    if (value === undefined) return fallback
    return this.#parseInt(name, value, rule) ?? fallback
  }

  optionalInt (name: string, rule: IntRule = {}): number | null {
    const value = this.raw(name)
    if (value === undefined) return null
    return this.#parseInt(name, value, rule)
  }

  #parseInt (name: string, value: string, { min = 0, max = Number.MAX_SAFE_INTEGER }: IntRule): number | null {
    const accepted = `an integer from ${min} to ${max}`
    if (!/^-?\d+$/.test(value)) {
      this.fail(name, `"${value}" is not ${accepted}`)
      return null
    }
    const n = Number(value)
    if (n < min || n > max) {
      this.fail(name, `${n} is out of range; expected ${accepted}`)
      return null
    }
    return n
  }

  /** A share from 0 to 1, written as a decimal (`0.01`). */
  fraction (name: string, fallback: number): number {
    const value = this.raw(name)
    if (value === undefined) return fallback
    const n = /^(0|1)(\.\d+)?$|^\.\d+$/.test(value) ? Number(value) : NaN
    if (!(n >= 0 && n <= 1)) {
      this.fail(name, `"${value}" is not a share from 0 to 1 (for example 0.01)`)
      return fallback
    }
    return n
  }

  /** A duration with its unit (`90s`, `30m`, `12h`, `30d`), in seconds; a bare number is refused as ambiguous. */
  durationS (name: string, fallbackS: number, { min = 0, max = Number.MAX_SAFE_INTEGER }: IntRule = {}): number {
    const value = this.raw(name)
    if (value === undefined) return fallbackS
    const match = /^(\d{1,9})(s|m|h|d)$/.exec(value)
    const seconds = match === null ? NaN : Number(match[1]) * DURATION_UNIT_S[match[2]]
    if (!(seconds >= min && seconds <= max)) {
      this.fail(name, `"${value}" is not a duration from ${min}s to ${max / 86_400}d, written with its unit (90s, 30m, 12h, 30d)`)
      return fallbackS
    }
    return seconds
  }

  oneOf<T extends string> (name: string, accepted: readonly T[], fallback: T): T {
    const value = this.raw(name)
    if (value === undefined) return fallback
    if ((accepted as readonly string[]).includes(value)) return value as T
    this.fail(name, `"${value}" is not accepted; expected one of ${accepted.join(', ')}`)
    return fallback
  }

  list (name: string): string[] {
    const value = this.raw(name)
    if (value === undefined) return []
    return value.split(',').map((item) => item.trim()).filter((item) => item !== '')
  }

  url (name: string, protocols: readonly string[]): URL | null {
    const value = this.raw(name)
    if (value === undefined) return null
    let url: URL
    try {
      url = new URL(value)
    } catch {
      // The value is not echoed: URLs carry passwords (redis://:pw@host) and webhook tokens.
      this.fail(name, `not a URL; expected ${protocols.join(' or ')}//host[:port]`)
      return null
    }
    if (!protocols.includes(url.protocol)) {
      this.fail(name, `protocol ${url.protocol} is not accepted; expected ${protocols.join(' or ')}`)
      return null
    }
    if (url.hostname === '') {
      this.fail(name, `the URL has no host; expected ${protocols.join(' or ')}//host[:port]`)
      return null
    }
    return url
  }

  hostPorts (name: string): HostPort[] {
    const out: HostPort[] = []
    for (const item of this.list(name)) {
      const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(item)
      const port = match === null ? NaN : Number(match[2])
      if (match === null || port < 1 || port > 65535) {
        this.fail(name, `"${item}" is not host:port`)
        continue
      }
      out.push({ host: match[1].replace(/^\[|\]$/g, ''), port })
    }
    return out
  }

  /**
   * Reads a file named by a variable; the problem names the variable, never the
   * content. `secret`: the value may be a mangled inline key, so it is not echoed.
   */
  file (name: string, path: string, { secret = false } = {}): string | null {
    try {
      return readFileSync(path, 'utf8')
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error'
      this.fail(name, secret
        ? `cannot read the file it names (${code}); expected a PEM starting with -----BEGIN or a readable file path`
        : `cannot read ${path} (${code})`)
      return null
    }
  }
}
