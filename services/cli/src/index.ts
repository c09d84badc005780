/**
 * @agg/cli: the `pnpm agg` command-line client, as a library (the entry point
 * is `main.ts`). Exposed so tests and other tools can run commands in-process.
 */
export type { CliIo, Command, TerminalOutput } from "./command";
export { COMMANDS } from "./commands/index";
export { ExitCode } from "./exit-code";
export { parseCommandArgs } from "./parse-command-args";
export { helpText, runCli } from "./run-cli";
export { UsageError } from "./usage-error";
