import { KNOWN_VARIABLES } from './settings.js'
import type { Env } from './env-reader.js'

const PREFIX = 'TOKENGATE_'

// Other software's variables: Kubernetes service links (`<SERVICE>_SERVICE_HOST`,
// `<SERVICE>_PORT_8080_TCP_ADDR`, ...), OpenTelemetry, Node.js and npm, and the usual system ones.
const SERVICE_LINK = /^[A-Z0-9_]+_(?:SERVICE_(?:HOST|PORT)(?:_[A-Z0-9_]+)?|PORT_\d+_(?:TCP|UDP|SCTP)(?:_(?:PROTO|PORT|ADDR))?)$/
// `<SERVICE>_PORT=tcp://10.0.0.1:8080`: known by its value, since METRICS_PORT is tokengate's.
const SERVICE_LINK_PORT = /^(?:tcp|udp|sctp):\/\/\S+:\d+$/
const FOREIGN_PREFIX = /^(?:OTEL_|NODE_|npm_|NPM_|KUBERNETES_|DOCKER_|LC_|XDG_|GIT_|SSH_|CI_|GITHUB_|RUNNER_|TAP_|NYC_|COREPACK_|YARN_|PNPM_|UV_)/
const SYSTEM = new Set([
  'PATH', 'HOME', 'HOSTNAME', 'USER', 'LOGNAME', 'SHELL', 'PWD', 'OLDPWD', 'TERM', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR',
  'SHLVL', 'MAIL', 'EDITOR', 'PAGER', 'COLUMNS', 'LINES', 'DISPLAY', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy',
  'https_proxy', 'no_proxy', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'YARN_VERSION', 'DEBUG', 'CI', 'container', 'INIT_CWD', '_'
])

/** Underscores and letter case do not make another name: FAILMODE and fail_mode are FAIL_MODE. */
function squash (name: string): string {
  return name.toUpperCase().replaceAll('_', '')
}

/** Damerau–Levenshtein (optimal string alignment): a swapped pair of letters is one typo. */
function distance (a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1
  let previous2: number[] = []
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    let best = i
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let value = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, previous2[j - 2] + 1)
      row.push(value)
      best = Math.min(best, value)
    }
    if (best > limit) return limit + 1
    previous2 = previous
    previous = row
  }
  return previous[b.length]
}

/**
 * Typos tolerated against a known name, by its length without underscores: none below 6
 * letters (HOST and HOME, PORT and PWD are other software's), one from 6, two from 14.
 */
function tolerance (known: string): number {
  const length = squash(known).length
  return length >= 14 ? 2 : length >= 6 ? 1 : 0
}

const SQUASHED = [...KNOWN_VARIABLES].map((name) => ({ name, squashed: squash(name), tolerance: tolerance(name) }))

/** The known variable `name` is probably a misspelling of, or null. */
export function probablyMeant (name: string): string | null {
  if (KNOWN_VARIABLES.has(name)) return null
  const squashed = squash(name)
  let best: { name: string, distance: number } | null = null
  for (const known of SQUASHED) {
    const d = known.squashed === squashed ? 0 : distance(squashed, known.squashed, known.tolerance)
    if (d <= known.tolerance && (best === null || d < best.distance)) best = { name: known.name, distance: d }
  }
  return best?.name ?? null
}

/** Another program's variable (its value tells a service link `<NAME>_PORT` apart). */
export function foreign (name: string, value: string | undefined): boolean {
  return SYSTEM.has(name) || FOREIGN_PREFIX.test(name) || SERVICE_LINK.test(name) ||
    (name.endsWith('_PORT') && value !== undefined && SERVICE_LINK_PORT.test(value.trim()))
}

/**
 * Variables that look like tokengate's but are not: a TOKENGATE_ prefix it does not know, or a
 * near miss of a known name (FAILMODE for FAIL_MODE). Each is a problem: a setting the operator
 * believes is in force would be silently ignored.
 */
export function unknownVariables (env: Env): string[] {
  const problems: string[] = []
  for (const [name, value] of Object.entries(env)) {
    if (KNOWN_VARIABLES.has(name) || foreign(name, value)) continue
    const meant = probablyMeant(name)
    if (meant !== null) problems.push(`${name}: not a tokengate variable; did you mean ${meant}?`)
    else if (name.startsWith(PREFIX)) problems.push(`${name}: not a tokengate variable (see docs/configuration.md)`)
  }
  return problems
}
