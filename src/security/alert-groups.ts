import type { Alert } from './alert.js'

/** Subjects listed per group; the group still counts every occurrence. */
const SUBJECTS_LISTED = 20

/**
 * One entry of /admin/alerts: the newest alert of a type, and how often that
 * type fired in the listed period. A scan from ten thousand addresses is one
 * entry with ten thousand occurrences, not ten thousand entries.
 */
export interface AlertGroup extends Alert {
  readonly occurrences: number
  readonly first_seen: string
  readonly last_seen: string
  /** Distinct users and addresses the group's alerts named, newest first (at most 20 each). */
  readonly user_ids: readonly string[]
  readonly ips: readonly string[]
}

function addCapped (list: string[], value: string | null): void {
  if (value !== null && list.length < SUBJECTS_LISTED && !list.includes(value)) list.push(value)
}

/** Groups alerts (newest first) by type; groups are ordered by their newest alert. */
export function groupByType (alerts: readonly Alert[]): AlertGroup[] {
  const groups = new Map<string, { newest: Alert, oldest: Alert, occurrences: number, userIds: string[], ips: string[] }>()
  for (const alert of alerts) {
    let group = groups.get(alert.type)
    if (group === undefined) {
      group = { newest: alert, oldest: alert, occurrences: 0, userIds: [], ips: [] }
      groups.set(alert.type, group)
    }
    group.occurrences++
    group.oldest = alert
    addCapped(group.userIds, alert.user_id)
    addCapped(group.ips, alert.ip)
  }
  return [...groups.values()].map(({ newest, oldest, occurrences, userIds, ips }) => ({
    ...newest,
    occurrences,
    first_seen: oldest.timestamp,
    last_seen: newest.timestamp,
    user_ids: userIds,
    ips
  }))
}
