/**
 * The CLI's exit codes (the contract's: 0 ok, 2 bad input, 3 NATS or the
 * database unreachable; 1 anything else, including a batch that ended
 * `failed` or `cancelled`).
 */
export const ExitCode = {
  ok: 0,
  /** Something failed that is not the caller's input nor a server's reachability. */
  failure: 1,
  badInput: 2,
  unavailable: 3,
  /** Stopped by Ctrl-C while waiting (the shell's convention: 128 + SIGINT). */
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
