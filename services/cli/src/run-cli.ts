import { DatabaseUnavailableError, StoreError } from "@agg/store";
import type { CliIo, Command } from "./command";
import { COMMANDS } from "./commands/index";
import { ExitCode } from "./exit-code";
import { UsageError } from "./usage-error";

/**
 * Runs `pnpm agg <command> [args]` and returns the exit code. Errors become
 * one line on stderr: bad input -> 2, database unusable -> 3, anything else -> 1.
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(process.argv.slice(2), processIo());
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo, commands: readonly Command[] = COMMANDS) {
  const [name, ...args] = argv;
  if (name === undefined) {
    io.stderr(helpText(commands));
    return ExitCode.badInput;
  }
  if (name === "help" || name === "--help" || name === "-h") {
    io.stdout(helpText(commands));
    return ExitCode.ok;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.stderr(`agg: unknown command "${name}" (commands: ${commands.map((c) => c.name).join(", ")})`);
    return ExitCode.badInput;
  }
  try {
    return await command.run(args, io);
  } catch (error) {
    const [code, message] = classify(error);
    io.stderr(`agg ${command.name}: ${message}`);
    return code;
  }
}

function classify(error: unknown): [ExitCode, string] {
  if (error instanceof UsageError) return [ExitCode.badInput, error.message.replace(/^\w+: /, "")];
  if (error instanceof DatabaseUnavailableError) return [ExitCode.unavailable, error.message];
  if (error instanceof StoreError) return [ExitCode.failure, error.message];
  // An undefined table: the database was never migrated (SQLSTATE 42P01).
  if ((error as { code?: unknown }).code === "42P01") {
    return [ExitCode.unavailable, "the database has no engine tables yet: run `pnpm agg migrate` first"];
  }
  return [ExitCode.failure, error instanceof Error ? error.message : String(error)];
}

/** The list of commands. */
export function helpText(commands: readonly Command[] = COMMANDS): string {
  const lines = commands.map(
    (c) => `  pnpm agg ${[c.name, c.usage].filter(Boolean).join(" ")}\n      ${c.description}`,
  );
  return [
    "usage: pnpm agg <command> [options]",
    "",
    ...lines,
    "",
    "DATABASE_URL selects PostgreSQL; unset, the embedded store under ./data/pglite is used.",
  ].join("\n");
}
