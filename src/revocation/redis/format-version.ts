/**
 * The version of the log entry and load-index record formats this replica
 * writes, and the newest it reads. 1: the formats before the version existed
 * (no version, no issuer). 2: with the version and the issuer, which the key
 * did not hold yet. 3: the same fields; the mark is kept per issuer (its key
 * holds the issuer, redis-keys.ts). A mark read in version 1 or 2 is a mark of
 * every issuer (ANY_ISSUER), as its key is: it revokes what it revoked when
 * it was written (docs/scaling.md, "Upgrading replicas").
 *
 * A replica that meets a newer version stops following the log and goes
 * unready instead of skipping what it cannot read: a skipped entry could be
 * a revocation. Upgrade the readers first, then the writers
 * (docs/scaling.md, "Upgrading replicas").
 */
export const FORMAT_VERSION = 3

/** The first version whose marks are kept per issuer; older ones are marks of every issuer. */
export const PER_ISSUER_VERSION = 3

/** A log entry or index record written in a format this replica does not know. */
export class UnknownFormatError extends Error {
  readonly version: number

  constructor (version: number, where: 'log entry' | 'load index record', known: number) {
    super(`revocation ${where} in format version ${Number.isNaN(version) ? 'unreadable' : version}; this replica reads versions up to ${known}`)
    this.version = version
    this.name = 'UnknownFormatError'
  }
}
