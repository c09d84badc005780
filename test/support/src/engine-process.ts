import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The repository root (tests spawn the real programs from it). */
export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

export interface EngineProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Every JSON log line the engine printed so far, parsed. */
  readonly logs: Record<string, unknown>[];
  /** Everything the engine printed on stderr. */
  stderr(): string;
  /** Resolves with the first log line matching `pred` (already printed or future). */
  waitForLog(
    pred: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (or signal name) once the process ended. */
  exited: Promise<number | string>;
  signal(sig: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | string>;
}

/**
 * Starts a real engine as a child process, from source (tsx), with `env` on top
 * of the test's environment. Waits until it logs "engine started".
 */
export async function startEngine(name: string, env: Record<string, string>): Promise<EngineProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "services/engine/src/main.ts"], {
    cwd: repoRoot,
    // The nightly schedule would start batches of its own; tests that want it turn it on.
    env: { ...process.env, LOG_LEVEL: "debug", AGG_INSTANCE: name, AGG_SCHEDULE: "off", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  const waiters: {
    pred: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }[] = [];
  let err = "";
  let buffer = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    buffer += chunk;
    let nl = buffer.indexOf("\n");
    while (nl >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      nl = buffer.indexOf("\n");
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        logs.push(parsed);
        for (const w of [...waiters]) {
          if (w.pred(parsed)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(parsed);
          }
        }
      } catch {
        err += `${line}\n`;
      }
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, sig) => resolve(code ?? sig ?? "unknown")),
  );
  const waitForLog = (pred: (l: Record<string, unknown>) => boolean, timeoutMs = 20_000) => {
    const found = logs.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`engine ${name}: no matching log line within ${timeoutMs} ms; stderr:\n${err}`));
      }, timeoutMs);
      waiters.push({
        pred,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`engine ${name} exited (${code}) before the expected log line; stderr:\n${err}`));
      });
    });
  };
  const proc: EngineProcess = {
    name,
    child,
    logs,
    stderr: () => err,
    waitForLog,
    exited,
    signal: (sig) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    },
    stop: async (graceMs = 30_000) => {
      proc.signal("SIGTERM");
      const timer = setTimeout(() => proc.signal("SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  await waitForLog((l) => l.msg === "engine started", 30_000);
  return proc;
}
