import { AggError, ConfigError, UnavailableError } from "@agg/protocol";
import { DatabaseUnavailableError, StoreError } from "@agg/store/errors";
import type { CliIo, Command } from "./command";
import { COMMANDS } from "./commands/index";
import { isNoResponders } from "./engine-client";
import { ExitCode } from "./exit-code";
import { UsageError } from "./usage-error";

/**
 * Runs `pnpm agg <command> [args]` and returns the exit code. Errors become
 * one line on stderr: bad input (a flag, or an engine's BAD_REQUEST /
 * UNKNOWN_USER / NOT_FOUND) -> 2, NATS or the database unusable (or no engine
 * answering) -> 3, anything else -> 1.
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
  if (error instanceof UnavailableError) {
    // No subscriber at all: the likeliest reason is that no engine runs on this NATS and prefix.
    const hint = isNoResponders(error.cause) ? " — is `pnpm start` running?" : "";
    return [ExitCode.unavailable, `${error.message}${hint}`];
  }
  if (error instanceof AggError) {
    // An error reply from the engine: its code, then its message (which names the field).
    const input = error.code === "BAD_REQUEST" || error.code === "UNKNOWN_USER" || error.code === "NOT_FOUND";
    return [input ? ExitCode.badInput : ExitCode.failure, `${error.code}: ${error.message}`];
  }
  // A malformed NATS_URL or an unreadable NATS_CREDS: NATS cannot be used, as with a malformed DATABASE_URL.
  if (error instanceof ConfigError) return [ExitCode.unavailable, error.message];
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
    "DATABASE_URL selects PostgreSQL; unset, the embedded store under ./data/pglite (AGG_DATA_DIR/pglite) is used.",
    "NATS_URL (default nats://127.0.0.1:4222) and AGG_PREFIX (default agg) select the engines to talk to.",
  ].join("\n");
}
