/**
 * A real engine instance as a child process, started the way an operator
 * starts it (`node services/engine/dist/main.js`), configured only through the
 * environment (CONTRACT.md).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./bench-database";

/** Which program runs the engine. */
export type EngineEntry = "dist" | "src";

export interface EngineProcessOptions {
  readonly entry: EngineEntry;
  readonly name: string;
  readonly env: Record<string, string>;
  /** Directory for `--cpu-prof` output; unset: no profile. */
  readonly cpuProfileDir?: string | undefined;
  /** More node arguments, before the entry (such as a `--require` preload). */
  readonly nodeArgs?: readonly string[] | undefined;
}

/** A started engine. */
export interface EngineProcess {
  readonly pid: number;
  /** Its `AGG_INSTANCE`: how `agg.inspect` and the engine's tables name it. */
  readonly name: string;
  readonly entry: EngineEntry;
  /** Everything it printed on stderr and the non-JSON stdout lines, for error messages. */
  output(): string;
  /** Its JSON log lines at level warn (40) or above. */
  warnings(): Record<string, unknown>[];
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code or signal. */
  stop(graceMs?: number): Promise<number | string>;
  /** SIGKILL, as a crash: no drain, no lease handed back. Resolves once it exited. */
  kill(): Promise<number | string>;
}

/** Thrown when the engine exits or stays silent before logging "engine started". */
export class EngineStartError extends Error {
  readonly code = "ENGINE_START";
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
  }
}

/**
 * Starts one engine and resolves once it logged "engine started".
 * @throws {EngineStartError} when it exits first or does not start within 60 s.
 */
export function startEngine(opts: EngineProcessOptions): Promise<EngineProcess> {
  const args: string[] = [];
  if (opts.cpuProfileDir) args.push("--cpu-prof", `--cpu-prof-dir=${opts.cpuProfileDir}`);
  args.push(...(opts.nodeArgs ?? []));
  // BENCH_ENGINE_NODE_ARGS="--trace-deopt ...": node/V8 flags for every engine (experiments).
  args.push(...(process.env.BENCH_ENGINE_NODE_ARGS ?? "").split(/\s+/).filter(Boolean));
  if (opts.entry === "dist") args.push(join(repoRoot, "services/engine/dist/main.js"));
  else args.push("--import", "tsx", join(repoRoot, "services/engine/src/main.ts"));
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { ...process.env, LOG_LEVEL: "info", AGG_INSTANCE: opts.name, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  const warnings: Record<string, unknown>[] = [];
  let started = false;
  let onStarted: (() => void) | undefined;
  let buffer = "";
  // BENCH_ENGINE_LOG=<file>: every engine's log lines, for finding out where a run waited.
  const logFile = process.env.BENCH_ENGINE_LOG;
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    if (logFile) appendFileSync(logFile, chunk);
    buffer += chunk;
    for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        text += `${line}\n`;
        continue;
      }
      if (typeof parsed.level === "number" && parsed.level >= 40) warnings.push(parsed);
      if (parsed.msg === "engine started" && !started) {
        started = true;
        onStarted?.();
      }
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    text += chunk;
  });
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown")),
  );
  const proc: EngineProcess = {
    pid: child.pid!,
    name: opts.name,
    entry: opts.entry,
    output: () => text,
    warnings: () => warnings,
    stop: async (graceMs = 30_000) => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      return exited;
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new EngineStartError(`engine ${opts.name} did not start within 60 s`, text));
    }, 60_000);
    onStarted = () => {
      clearTimeout(timer);
      resolve(proc);
    };
    if (started) onStarted();
    void exited.then((code) => {
      clearTimeout(timer);
      if (!started)
        reject(new EngineStartError(`engine ${opts.name} exited (${code}) before starting`, text));
    });
  });
}

/**
 * Starts the engine from `services/engine/dist/main.js`, or, with entry "auto",
 * from its sources under tsx when the bundle is missing or cannot load its
 * dependencies (a bundle whose external packages do not resolve from
 * services/engine/ fails with ERR_MODULE_NOT_FOUND before it logs anything).
 */
export async function startEngineWithFallback(
  entry: "dist" | "src" | "auto",
  opts: Omit<EngineProcessOptions, "entry">,
  warn: (line: string) => void,
): Promise<EngineProcess> {
  if (entry === "src") return startEngine({ ...opts, entry: "src" });
  const bundle = join(repoRoot, "services/engine/dist/main.js");
  if (entry === "auto" && !existsSync(bundle)) {
    warn("engine: services/engine/dist/main.js is missing (run `pnpm build`); running its sources under tsx");
    return startEngine({ ...opts, entry: "src" });
  }
  try {
    return await startEngine({ ...opts, entry: "dist" });
  } catch (error) {
    if (entry === "dist" || !(error instanceof EngineStartError)) throw error;
    const reason = /ERR_MODULE_NOT_FOUND[^\n]*|Cannot find (package|module) [^\n]*/.exec(error.output)?.[0];
    warn(
      `engine: the bundle did not start (${reason ?? error.message}); running its sources under tsx instead`,
    );
    return startEngine({ ...opts, entry: "src" });
  }
}
