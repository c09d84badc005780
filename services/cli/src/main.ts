#!/usr/bin/env node
import type { CliIo, TerminalOutput } from "./command";
import { runCli } from "./run-cli";

/** A stream as a `TerminalOutput` when it is a terminal. */
function terminal(stream: NodeJS.WriteStream): TerminalOutput | undefined {
  if (!stream.isTTY) return undefined;
  return {
    write: (text) => stream.write(text),
    get columns() {
      return stream.columns || 80;
    },
    get rows() {
      return stream.rows || 24;
    },
  };
}

let interrupt: AbortController | undefined;

/**
 * Aborted on Ctrl-C. The SIGINT handler is installed only when a command asks
 * for the signal (a waiting or watching one), so every other command still
 * ends at the first Ctrl-C; a second one ends the process at once.
 */
function interruptSignal(): AbortSignal {
  if (!interrupt) {
    const controller = new AbortController();
    interrupt = controller;
    process.on("SIGINT", () => {
      if (controller.signal.aborted) process.exit(130);
      controller.abort(new Error("interrupted"));
    });
  }
  return interrupt.signal;
}

/** The real process as a `CliIo`. */
function processIo(): CliIo {
  const stdout = terminal(process.stdout);
  const stderr = terminal(process.stderr);
  return {
    stdout: (text) => process.stdout.write(`${text}\n`),
    stderr: (text) => process.stderr.write(`${text}\n`),
    env: process.env,
    cwd: process.cwd(),
    tty: { ...(stdout ? { stdout } : {}), ...(stderr ? { stderr } : {}) },
    get signal() {
      return interruptSignal();
    },
  };
}

process.exitCode = await runCli(process.argv.slice(2), processIo());
