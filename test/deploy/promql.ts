const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'and', 'or', 'unless', 'inf', 'nan', 'atan2'])

/**
 * The metric names a PromQL expression reads: identifiers left once strings,
 * label matchers, ranges and grouping clauses are cut out, that are neither
 * functions (followed by "(") nor keywords.
 */
export function metricNames (expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
  const names = new Set<string>()
  for (const match of bare.matchAll(/(?<![\w.$:])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()/g)) {
    if (!KEYWORDS.has(match[1].toLowerCase())) names.add(match[1])
  }
  return [...names]
}

/** The family a series name belongs to (histogram series carry _bucket, _sum, _count); null when none. */
export function familyOf (name: string, families: ReadonlyMap<string, string>): string | null {
  if (families.has(name)) return name
  const base = name.replace(/_(bucket|sum|count)$/, '')
  return base !== name && families.get(base) === 'histogram' ? base : null
}

/** Families a /metrics text declares (# TYPE lines), with their types. */
export function declaredFamilies (text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const match of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(match[1], match[2])
  return out
}
