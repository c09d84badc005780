/**
 * Bad input on the command line: a missing or malformed flag, an unknown
 * option, a date range that runs backwards, an unknown user. Exit code 2; the
 * message names the flag and the problem.
 */
export class UsageError extends Error {
  readonly code = "BAD_REQUEST";

  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
