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
   */
  run(args: readonly string[], io: CliIo): Promise<ExitCode>;
}
