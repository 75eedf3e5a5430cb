/**
 * What a command reads and writes, so that the same code runs as the
 * `tokengate` process (process.ts wires it to the process) and inside a test.
 */
export interface CommandIo {
  readonly env: Readonly<Record<string, string | undefined>>
  /** One line of standard output (the newline is added). */
  readonly out: (line: string) => void
  /** One line of standard error (the newline is added). */
  readonly err: (line: string) => void
  readonly stdin: () => Promise<string>
  /**
   * Asks a yes/no question and resolves to true for "yes". Present only when someone can answer
   * (standard input and error are a terminal); a command that needs confirmation without it
   * asks for a flag instead.
   */
  readonly confirm?: (question: string) => Promise<boolean>
}
