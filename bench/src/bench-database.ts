/** The benchmark's own throw-away database `agg_bench_<hex>`, and timed SQL on it. */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { processCpuSeconds } from "./proc";
import { pg } from "./runtime-deps";

/** The repository root: the engine and tsx are started from there. */
export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

/** The server the benchmark creates its database on. */
export const SERVER_URL = process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres";

export type PgClient = InstanceType<typeof pg.Client>;

/** A database of the benchmark: its URL, and how to drop it. */
export interface BenchDatabase {
  readonly name: string;
  readonly url: string;
  /** A client of the database (one session: settings such as work_mem stay with it). */
  connect(): Promise<PgClient>;
  /** Terminates its sessions and drops it. */
  drop(): Promise<void>;
}

/** Creates an empty `agg_bench_<hex>` on {@link SERVER_URL}. */
export async function createBenchDatabase(): Promise<BenchDatabase> {
  const name = `agg_bench_${randomBytes(5).toString("hex")}`;
  await withServer((c) => c.query(`create database ${name}`));
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  const dbUrl = url.toString();
  return {
    name,
    url: dbUrl,
    connect: async () => {
      const client = new pg.Client({ connectionString: dbUrl });
      await client.connect();
      return client;
    },
    drop: () => withServer((c) => c.query(`drop database if exists ${name} with (force)`)).then(() => {}),
  };
}

async function withServer<T>(fn: (c: PgClient) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: SERVER_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Applies the engine's migrations (`migrateToLatest` of @agg/store) in a child
 * process running `migrate-database.ts` under tsx (see that file for why).
 */
export function migrate(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "bench/src/migrate-database.ts", url], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (b: Buffer) => {
      output += b.toString();
    });
    child.stderr.on("data", (b: Buffer) => {
      output += b.toString();
    });
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`migration failed (exit ${code}):\n${output}`)),
    );
  });
}

/** Runs `fn` and returns its result with the wall time it took, in ms. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const started = performance.now();
  const result = await fn();
  return { ms: Math.round(performance.now() - started), result };
}

/**
 * CPU seconds PostgreSQL backends serving `database` have used so far, keyed by pid
 * (read from /proc: the server runs on this machine). Sessions opened later count from 0.
 */
export async function backendCpu(client: PgClient, database: string): Promise<Map<number, number>> {
  const { rows } = await client.query<{ pid: number }>(
    "select pid from pg_stat_activity where datname = $1",
    [database],
  );
  const cpu = new Map<number, number>();
  for (const { pid } of rows) {
    const seconds = processCpuSeconds(pid);
    if (seconds !== null) cpu.set(pid, seconds);
  }
  return cpu;
}

/** Sum of the CPU seconds used between two {@link backendCpu} readings. */
export function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0);
  return total;
}

/**
 * Writes and syncs what the earlier phases left dirty (`CHECKPOINT`), so that
 * the kernel's writeback of it does not land in a timed run. Without it, the
 * generated data set (about 0.5 GB of pages) went to disk in one burst about
 * 30 s after it was written (`vm.dirty_expire_centisecs`), in the middle of
 * the engine's runs, and a commit's WAL flush queued behind it: nightly runs
 * of 700 ms and more, both cores in iowait for 0.4 s (BENCHMARKS.md, stop
 * 19). An operator's nightly run comes hours after the last bulk write.
 * `CHECKPOINT` needs superuser or `pg_checkpoint`: false when refused.
 */
export async function settleWrites(client: PgClient): Promise<boolean> {
  try {
    await client.query("checkpoint");
    return true;
  } catch {
    return false;
  }
}
