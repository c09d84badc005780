import { spawn } from "node:child_process";
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
export function runAgg(args: readonly string[], opts: { env?: Record<string, string>; cwd?: string } = {}) {
  const env: Record<string, string | undefined> = { ...process.env, ...opts.env };
  if (!opts.env?.DATABASE_URL) delete env.DATABASE_URL;
  return new Promise<AggRun>((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", tsx, main, ...args], {
      cwd: opts.cwd ?? repoRoot,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
