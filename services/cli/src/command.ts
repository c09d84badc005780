import type { ExitCode } from "./exit-code";

/** Where a command reads its environment and writes its output (a seam for tests). */
export interface CliIo {
  /** Machine-readable results (JSON). */
  readonly stdout: (text: string) => void;
  /** Human lines: progress, warnings, errors. */
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The repository root: relative paths (the PGlite store under `./data`) resolve against it. */
  readonly cwd: string;
  /**
   * The streams that are terminals, for output drawn in place (a progress
   * line, a live table). Absent (piped, redirected, tests): plain lines only.
   */
  readonly tty?: { readonly stdout?: TerminalOutput; readonly stderr?: TerminalOutput };
  /** Aborted on Ctrl-C (SIGINT): long-running commands stop and clean up. */
  readonly signal?: AbortSignal;
}

/** A terminal stream: raw writes (no newline added) and its current width and height. */
export interface TerminalOutput {
  write(text: string): void;
  readonly columns: number;
  readonly rows: number;
}

/**
 * One `pnpm agg <name>` command. Add a file under `commands/` and list it in
 * `commands/index.ts`.
 */
export interface Command {
  readonly name: string;
  /** The argument synopsis shown in help, e.g. `--user U --from D --to D`. */
  readonly usage: string;
  /** One line: what the command does. */
  readonly description: string;
  /**
   * Runs with the arguments after the command name.
   * @throws {UsageError} on bad input (exit 2).
   * @throws {DatabaseUnavailableError} when the database cannot be used (exit 3).
   * @throws {AggError} from the engine: BAD_REQUEST / UNKNOWN_USER / NOT_FOUND exit 2, UNAVAILABLE exit 3.
   */
  run(args: readonly string[], io: CliIo): Promise<ExitCode>;
}
