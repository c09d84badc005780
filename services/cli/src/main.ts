#!/usr/bin/env node
import type { CliIo } from "./command";
import { runCli } from "./run-cli";

/** The real process as a `CliIo`. */
function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(`${text}\n`),
    stderr: (text) => process.stderr.write(`${text}\n`),
    env: process.env,
    cwd: process.cwd(),
  };
}

process.exitCode = await runCli(process.argv.slice(2), processIo());
