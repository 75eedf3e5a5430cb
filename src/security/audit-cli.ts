/** Placeholder replaced by the audit trail (issue 4): fails loudly rather than pretending to verify. */
export async function auditCommand (_args: string[]): Promise<number> {
  process.stderr.write('tokengate: audit verify is not available in this build\n')
  return 2
}
