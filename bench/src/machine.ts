/** The machine a run's numbers came from. */
import { readFileSync } from "node:fs";
import { availableParallelism, loadavg, totalmem } from "node:os";
import type { PgClient } from "./bench-database";

export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGb: number;
  readonly node: string;
  readonly postgres: string;
  readonly nats: string;
  /** PostgreSQL settings that shape the numbers. */
  readonly postgresSettings: Record<string, string>;
  /** 1-minute load average when the run started (other work on the machine skews timings). */
  readonly loadAverageAtStart: number;
}

/** Reads what the benchmark reports about the machine. */
export async function describeMachine(client: PgClient, natsVersion: string): Promise<MachineInfo> {
  let cpuModel = "unknown";
  try {
    cpuModel =
      /^model name\s*:\s*(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? cpuModel;
  } catch {
    // not Linux: leave it unknown
  }
  const version = await client.query<{ server_version: string }>("show server_version");
  const settings = await client.query<{ name: string; setting: string; unit: string | null }>(
    `select name, setting, unit from pg_settings where name in
      ('shared_buffers', 'work_mem', 'max_parallel_workers_per_gather', 'jit', 'synchronous_commit', 'max_connections', 'autovacuum')`,
  );
  return {
    cpus: availableParallelism(),
    cpuModel,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    postgres: version.rows[0]!.server_version,
    nats: natsVersion,
    postgresSettings: Object.fromEntries(
      settings.rows.map((r) => [r.name, r.unit && r.unit !== "" ? `${r.setting} × ${r.unit}` : r.setting]),
    ),
    loadAverageAtStart: Math.round(loadavg()[0]! * 100) / 100,
  };
}
