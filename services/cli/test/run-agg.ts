import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const tsx = import.meta.resolve("tsx");

/** What one `pnpm agg ...` run printed and how it exited. */
export interface AggRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the CLI from source (`node --import tsx services/cli/src/main.ts ...`)
 * as its own process. `DATABASE_URL` comes only from `env` (the test's own is
 * not inherited), so a test says which database it means.
 */
export function runAgg(args: readonly string[], opts: AggOptions = {}): Promise<AggRun> {
  return startAgg(args, opts).result;
}

/** Where and with what environment the CLI runs. */
export interface AggOptions {
  readonly env?: Record<string, string>;
  readonly cwd?: string;
}

/** A CLI process still running (`inspect --watch`, a long `request --wait`). */
export interface RunningAgg {
  readonly child: ChildProcess;
  /** What it printed on stdout so far. */
  stdout(): string;
  /** Resolves once stdout holds `text`; rejects after `timeoutMs` or when the process ends first. */
  waitForStdout(text: string, timeoutMs?: number): Promise<void>;
  /** Resolves when the process has ended. */
  readonly result: Promise<AggRun>;
}

/** {@link runAgg} without waiting for the end: for commands that run until Ctrl-C. */
export function startAgg(args: readonly string[], opts: AggOptions = {}): RunningAgg {
  const env: Record<string, string | undefined> = { ...process.env, ...opts.env };
  if (!opts.env?.DATABASE_URL) delete env.DATABASE_URL;
  const child = spawn(process.execPath, ["--import", tsx, main, ...args], {
    cwd: opts.cwd ?? repoRoot,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const waiters = new Set<() => void>();
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    for (const check of [...waiters]) check();
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const result = new Promise<AggRun>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
  const waitForStdout = (text: string, timeoutMs = 15_000) =>
    new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        clearTimeout(timer);
        waiters.delete(check);
        if (error) reject(error);
        else resolve();
      };
      const check = () => {
        if (stdout.includes(text)) done();
      };
      const timer = setTimeout(
        () =>
          done(
            new Error(`no ${JSON.stringify(text)} on stdout within ${timeoutMs} ms:\n${stdout}\n${stderr}`),
          ),
        timeoutMs,
      );
      waiters.add(check);
      void result.then(() => {
        check();
        done(new Error(`the CLI ended before printing ${JSON.stringify(text)}:\n${stdout}\n${stderr}`));
      });
      check();
    });
  return { child, stdout: () => stdout, waitForStdout, result };
}
