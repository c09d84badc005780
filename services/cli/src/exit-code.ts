/** The CLI's exit codes (the contract's: 0 ok, 2 bad input, 3 database unreachable). */
export const ExitCode = {
  ok: 0,
  /** Something failed that is not the caller's input nor the database's reachability. */
  failure: 1,
  badInput: 2,
  unavailable: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
