/**
 * `pnpm bench`: the engine against a hand-written set-based SQL statement, on
 * the same generated data, in one run (issue 6).
 *
 * 1. a fresh database `agg_bench_<hex>`, migrated, filled set-based with
 *    ~1 M heartbeats of history plus one more complete day set aside;
 * 2. a plain scan of the heartbeats (the I/O floor), then the set-based
 *    statement writing `bench_sql_totals`;
 * 3. one engine instance (the built bundle, as `pnpm start` runs it):
 *    `agg.request` regenerate for everyone, timed to the batch's final event,
 *    its RSS sampled; its summaries compared with the statement's totals;
 * 4. the nightly day inserted, `agg.request` missing, timed and checked the same way;
 * 5. optionally (`--instances`) full regenerates with 1, 2, ... instances, and
 *    with 2 or more, failover recovery: busy instances SIGKILLed mid-batch.
 *
 * A table goes to stderr; the last stdout line is one JSON object. Exit 1 when
 * the engine's totals differ from the statement's (or a batch does not complete).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type BatchScaleResult, runBatchScale } from "./batch-scale";
import {
  type BenchDatabase,
  backendCpu,
  cpuBetween,
  createBenchDatabase,
  migrate,
  type PgClient,
  settleWrites,
  timed,
} from "./bench-database";
import { type Comparison, compareWithReference, isExact } from "./compare";
import { type BatchRun, ContractClient } from "./contract";
import { summarizeCpuProfile } from "./cpu-profile";
import {
  countSummariesAfter,
  type DatasetStats,
  deleteSummariesAfter,
  generateDataset,
  insertNightlyDay,
  lastSummaryId,
} from "./dataset";
import { type EngineProcess, startEngineWithFallback } from "./engine-process";
import { busiestUser, explainEngineQueries } from "./engine-queries";
import { type FailoverResult, measureFailover, median } from "./failover";
import {
  type HeapSummary,
  heapSamplerLaunch,
  startHeapSampling,
  stopHeapSampling,
  summarizeHeapProfile,
} from "./heap-profile";
import { describeMachine, type MachineInfo } from "./machine";
import { type BenchOptions, type FailoverTimeouts, parseOptions, USAGE, UsageError } from "./options";
import {
  countersBetween,
  type ProcessCounters,
  processCounters,
  processCpuSeconds,
  processMemoryMb,
  RssSampler,
} from "./proc";
import { formatCount, formatMs, formatTable, type ReportRow, round } from "./report";
import { explainSetBasedTotals, runSetBasedTotals, SCAN_SQL } from "./set-based-sql";

const NATS_URL = process.env.NATS_URL || "nats://127.0.0.1:4222";
/** No batch of the benchmark may take longer than this. */
const BATCH_TIMEOUT_MS = 30 * 60_000;

/** Throughput of a full regenerate with `instances` engines, and failover recovery with as many. */
interface InstancesRun {
  readonly instances: number;
  readonly ms: number;
  readonly heartbeatsPerSecond: number;
  readonly state: string;
  /** One entry per `--failover-timeouts` pair; empty for 1 instance or `--failover-kills 0`. */
  readonly failover: readonly FailoverRunResult[];
}

/** A failover run's recovery times, and whether its summaries were still exact afterwards. */
interface FailoverRunResult extends FailoverResult {
  /** Engine totals = SQL totals for every day, after the run's last batch. */
  readonly exact: boolean;
}

/** Undo steps, run in reverse order on exit (and on Ctrl-C). */
const cleanups: (() => Promise<unknown>)[] = [];

async function cleanUp(): Promise<void> {
  for (const step of cleanups.splice(0).reverse()) await step().catch(() => undefined);
}

async function run(o: BenchOptions, say: (line: string) => void): Promise<number> {
  const runId = randomBytes(4).toString("hex");
  const prefix = `aggbench${runId}`;
  const nowMs = Date.now();
  const rows: ReportRow[] = [];

  const db: BenchDatabase = await createBenchDatabase();
  cleanups.push(async () => {
    if (o.keep) process.stderr.write(`bench: kept database ${db.name}: ${db.url}\n`);
    else await db.drop();
  });
  say(`database ${db.name}; NATS ${NATS_URL}; subject prefix ${prefix}`);
  await migrate(db.url);
  const client = await db.connect();
  cleanups.push(() => client.end());
  const nats = await ContractClient.connect(NATS_URL, prefix);
  cleanups.push(() => nats.close());
  cleanups.push(() => nats.deleteEngineStreams());
  const machine = await describeMachine(client, nats.serverVersion);

  // 1. Data.
  say(
    `generating ~${formatCount(o.heartbeats)} heartbeats: ${o.users} users, ${o.days} days + 1 nightly day`,
  );
  const gen = await timed(() =>
    generateDataset(client, {
      users: o.users,
      days: o.days,
      heartbeats: o.heartbeats,
      seed: o.seed,
      nowMs,
    }),
  );
  const data: DatasetStats = gen.result;
  const total = data.historyHeartbeats + data.nightlyHeartbeats;
  rows.push({
    phase: "generate (SQL, + vacuum analyze)",
    ms: gen.ms,
    detail: `${formatCount(data.historyHeartbeats)} history (${data.firstDay}..${data.lastDay}) + ${formatCount(data.nightlyHeartbeats)} nightly (${data.nightlyDay})`,
  });

  // Before anything is timed: the data set on disk, not in the kernel's writeback queue.
  const settled = await timed(() => settleWrites(client));
  rows.push({
    phase: "settle writes (checkpoint)",
    ms: settled.ms,
    detail: settled.result
      ? "the data set written and synced before the timed runs (again before each nightly run)"
      : "CHECKPOINT refused (needs superuser or pg_checkpoint): earlier writes may land in timed runs",
  });

  // 2. The I/O floor and the set-based statement, on warm caches.
  await client.query(SCAN_SQL);
  const scan = await timed(() => client.query(SCAN_SQL));
  rows.push({
    phase: "scan (count + sum(length(entity)))",
    ms: scan.ms,
    detail: "every heartbeat read once",
  });

  const sqlClient = await db.connect();
  cleanups.push(() => sqlClient.end());
  if (o.explain) {
    say("\nEXPLAIN ANALYZE of the set-based statement:");
    say(await explainSetBasedTotals(sqlClient, data.firstDay, data.lastDay, o.sqlWorkMem));
  }
  const sqlCpuBefore = await backendCpu(client, db.name);
  const sql = await timed(() => runSetBasedTotals(sqlClient, data.firstDay, data.lastDay, o.sqlWorkMem));
  const sqlDbCpu = cpuBetween(sqlCpuBefore, await backendCpu(client, db.name));
  rows.push({
    phase: "sql (one set-based statement)",
    ms: sql.ms,
    detail: `${formatCount(sql.result)} totals; PostgreSQL CPU ${sqlDbCpu.toFixed(1)} s; work_mem ${o.sqlWorkMem}`,
  });

  // 3. The engine, full regenerate.
  const profileDir = o.profile ? mkdtempSync(join(tmpdir(), "agg-bench-profile-")) : undefined;
  const heapProfileFile = o.heapProfile
    ? join(mkdtempSync(join(tmpdir(), "agg-bench-heap-")), "nightly.heapprofile")
    : undefined;
  const heapSampler = heapProfileFile ? heapSamplerLaunch(heapProfileFile) : undefined;
  const engine: EngineProcess = await startEngineWithFallback(
    o.engine,
    {
      name: `bench-${runId}`,
      env: { ...engineEnv(db.url, prefix, o), ...heapSampler?.env },
      cpuProfileDir: profileDir,
      nodeArgs: heapSampler?.nodeArgs,
    },
    say,
  );
  let engineStopped = false;
  cleanups.push(async () => {
    if (!engineStopped) await engine.stop(5_000);
  });
  const sampler = new RssSampler(engine.pid);
  cleanups.push(async () => sampler.stop());
  const startRssMb = sampler.takePeak();
  say(`engine ${engine.entry} pid ${engine.pid} started (RSS ${startRssMb} MB); full regenerate...`);

  const measured = async (request: Record<string, unknown>) => {
    const cpu0 = processCpuSeconds(engine.pid) ?? 0;
    const counters0 = processCounters(engine.pid);
    const db0 = await backendCpu(client, db.name);
    const batch = await nats.runBatch(request, BATCH_TIMEOUT_MS);
    const engineCpu = (processCpuSeconds(engine.pid) ?? 0) - cpu0;
    const engineCounters = countersBetween(counters0, processCounters(engine.pid));
    const dbCpu = cpuBetween(db0, await backendCpu(client, db.name));
    return { batch, engineCpu, engineCounters, dbCpu, peakRssMb: sampler.takePeak() };
  };
  const full = await measured({ mode: "regenerate", to: data.lastDay });
  rows.push({
    phase: "engine full (regenerate)",
    ms: full.batch.ms,
    detail: `${describeBatch(full.batch)}; engine CPU ${full.engineCpu.toFixed(1)} s, PostgreSQL CPU ${full.dbCpu.toFixed(1)} s; peak RSS ${full.peakRssMb} MB`,
  });
  const fullCheck = await compareWithReference(client, data.firstDay, data.lastDay);
  rows.push({ phase: "check full: engine = sql", ms: null, detail: describeComparison(fullCheck) });

  if (o.explain) {
    const user = await busiestUser(client);
    if (user) {
      say(`\nEXPLAIN ANALYZE of the engine's queries for ${user.userId} (the busiest user):`);
      for (const { label, plan } of await explainEngineQueries(client, user.userId, user.fromMs, user.toMs)) {
        say(`-- ${label}\n${plan}\n`);
      }
    }
  }

  // 4. The nightly run after one more day.
  await insertNightlyDay(client, !o.freshNightly);
  const beforeNightly = await lastSummaryId(client);
  await settleWrites(client);
  say(
    `nightly day inserted${o.freshNightly ? " (not vacuumed)" : ""}; nightly run (missing)${o.idleBeforeNightlyMs > 0 ? ` after ${formatMs(o.idleBeforeNightlyMs)} idle` : ""}...`,
  );
  await sleep(o.idleBeforeNightlyMs);
  if (heapProfileFile) await startHeapSampling(engine.pid);
  const nightly = await measured({ mode: "missing" });
  const nightlyHeap = heapProfileFile
    ? allocationsOf(
        summarizeHeapProfile(await stopHeapSampling(engine.pid, heapProfileFile)),
        heapProfileFile,
        nightly.batch.final.users,
      )
    : undefined;
  // Days up to yesterday in each user's zone: two for the zones already past the nightly day.
  const nightlyDaysWritten = await countSummariesAfter(client, beforeNightly);
  rows.push({
    phase: "engine nightly (missing, +1 day)",
    ms: nightly.batch.ms,
    detail: `${describeBatch(nightly.batch)}; ${formatCount(nightlyDaysWritten)} days written; engine CPU ${nightly.engineCpu.toFixed(2)} s${describeCounters(nightly.engineCounters)}, PostgreSQL CPU ${nightly.dbCpu.toFixed(2)} s; peak RSS ${nightly.peakRssMb} MB`,
  });
  const sqlNightly = await timed(() =>
    runSetBasedTotals(sqlClient, data.nightlyDay, data.nightlyDay, o.sqlWorkMem),
  );
  rows.push({
    phase: "sql nightly (the statement, 1 day)",
    ms: sqlNightly.ms,
    detail: `${formatCount(sqlNightly.result)} totals; also the reference for the nightly check`,
  });
  const nightlyCheck = await compareWithReference(client, data.nightlyDay, data.nightlyDay);
  rows.push({ phase: "check nightly: engine = sql", ms: null, detail: describeComparison(nightlyCheck) });

  // Repeats of the nightly run (one run on a shared 2-core machine varies by +-20 %).
  // Each repeat as measured: its time, and its CPU, engine and PostgreSQL apart.
  const repeats: Awaited<ReturnType<typeof measured>>[] = [];
  let repeatsExact = true;
  for (let i = 0; i < o.nightlyRepeats; i++) {
    await deleteSummariesAfter(client, beforeNightly);
    await settleWrites(client);
    await sleep(o.idleBeforeNightlyMs);
    const again = await measured({ mode: "missing" });
    repeats.push(again);
    repeatsExact &&= again.batch.final.state === "completed";
    // The same work again: every day the nightly run wrote, and only those.
    repeatsExact &&= (await countSummariesAfter(client, beforeNightly)) === nightlyDaysWritten;
    repeatsExact &&= isExact(await compareWithReference(client, data.nightlyDay, data.nightlyDay));
  }
  const nightlyRepeatsMs = repeats.map((r) => r.batch.ms);
  const nightlyMedianMs = median([nightly.batch.ms, ...nightlyRepeatsMs]) ?? nightly.batch.ms;
  if (o.nightlyRepeats > 0) {
    rows.push({
      phase: `engine nightly, median of ${o.nightlyRepeats + 1}`,
      ms: nightlyMedianMs,
      detail: `runs ${[nightly.batch.ms, ...nightlyRepeatsMs].map((ms) => formatMs(ms)).join(", ")}; ${repeatsExact ? "each completed and exact" : "NOT all completed and exact"}`,
    });
  }

  const peakRssMb = Math.round(
    processMemoryMb(engine.pid)?.hwm ?? Math.max(full.peakRssMb, nightly.peakRssMb),
  );
  const warnings = engine.warnings();
  await engine.stop();
  engineStopped = true;
  sampler.stop();

  // 5. Throughput and failover recovery per instance count (issue 4).
  const instanceRuns: InstancesRun[] = [];
  for (const n of o.instances) {
    // Same prefix as above: the streams and buckets exist, as on a running cluster.
    await client.query("vacuum (analyze) summaries, summary_items");
    const throughput = await runInstances(n, prefix, db.url, data, total, o, say);
    rows.push({
      phase: `instances: ${n}, full regenerate`,
      ms: throughput.ms,
      detail: `${throughput.state}; ${formatCount(throughput.heartbeatsPerSecond)} heartbeats/s`,
    });
    const failover: FailoverRunResult[] = [];
    for (const timeouts of n >= 2 && o.failoverKills > 0 ? o.failoverTimeouts : []) {
      const f = await runFailover(n, timeouts, { prefix, dbUrl: db.url, client, data, o, say });
      failover.push(f);
      rows.push({
        phase: `instances: ${n}, failover (lease ${timeouts.leaseTtlMs}, ack ${timeouts.ackWaitMs})`,
        ms: f.medianMs,
        detail: describeFailover(f),
      });
    }
    instanceRuns.push({ ...throughput, failover });
  }

  const totalsEqual = isExact(fullCheck) && isExact(nightlyCheck) && repeatsExact;
  const completed = full.batch.final.state === "completed" && nightly.batch.final.state === "completed";
  const failoversHeld = instanceRuns.every((r) => r.failover.every(failoverHeld));
  const engineOverSql = full.batch.ms / Math.max(1, sql.ms);
  const nightlyOverFull = nightly.batch.ms / Math.max(1, full.batch.ms);
  rows.push({
    phase: "ratios",
    ms: null,
    detail: `engine/sql ${engineOverSql.toFixed(2)} (target <= 1.0), nightly/full ${nightlyOverFull.toFixed(3)} (target <= 0.05), engine/scan ${(full.batch.ms / Math.max(1, scan.ms)).toFixed(1)}`,
  });

  say("");
  say(formatTable(rows));
  say(describeMachineLine(machine));
  for (const w of warnings.slice(0, 10)) say(`engine warning: ${JSON.stringify(w)}`);
  for (const e of [...fullCheck.examples, ...nightlyCheck.examples]) say(`mismatch: ${e}`);
  if (profileDir) printProfile(profileDir, say);
  if (nightlyHeap) printHeapProfile(nightlyHeap, say);

  const result = {
    heartbeats: total,
    users: data.users,
    days: o.days,
    engineMs: full.batch.ms,
    sqlMs: sql.ms,
    scanMs: scan.ms,
    nightlyMs: nightly.batch.ms,
    engineOverSql: round(engineOverSql),
    nightlyOverFull: round(nightlyOverFull, 4),
    ...(o.nightlyRepeats > 0
      ? {
          nightlyRepeatsMs,
          nightlyMedianMs,
          nightlyMedianOverFull: round(nightlyMedianMs / Math.max(1, full.batch.ms), 4),
          nightlyRepeatsEngineCpuS: repeats.map((r) => round(r.engineCpu, 2)),
          nightlyRepeatsDbCpuS: repeats.map((r) => round(r.dbCpu, 2)),
          nightlyRepeatsEngineMainThreadCpuS: repeats.map((r) => counter(r.engineCounters, "mainThreadCpuS")),
          nightlyRepeatsEngineOtherThreadsCpuS: repeats.map((r) =>
            counter(r.engineCounters, "otherThreadsCpuS"),
          ),
          nightlyRepeatsEngineMinorFaults: repeats.map((r) => counter(r.engineCounters, "minorFaults")),
        }
      : {}),
    peakRssMb,
    sqlNightlyMs: sqlNightly.ms,
    totalsEqual,
    historyHeartbeats: data.historyHeartbeats,
    nightlyHeartbeats: data.nightlyHeartbeats,
    nightlyDaysWritten,
    firstDay: data.firstDay,
    lastDay: data.lastDay,
    nightlyDay: data.nightlyDay,
    generateMs: gen.ms,
    engineEntry: engine.entry,
    concurrency: o.concurrency ?? (process.env.AGG_CONCURRENCY ? Number(process.env.AGG_CONCURRENCY) : null),
    engineAcceptMs: full.batch.acceptMs,
    engineCpuS: round(full.engineCpu, 1),
    engineDbCpuS: round(full.dbCpu, 1),
    sqlDbCpuS: round(sqlDbCpu, 1),
    // Two decimals: a nightly run's CPU is a few tenths of a second, and its split is the question.
    nightlyEngineCpuS: round(nightly.engineCpu, 2),
    nightlyDbCpuS: round(nightly.dbCpu, 2),
    // The engine's nightly CPU split: its main thread (the work) and the rest
    // (V8 compiling and collecting beside it), and the memory it touched first.
    nightlyEngineMainThreadCpuS: counter(nightly.engineCounters, "mainThreadCpuS"),
    nightlyEngineOtherThreadsCpuS: counter(nightly.engineCounters, "otherThreadsCpuS"),
    nightlyEngineMinorFaults: counter(nightly.engineCounters, "minorFaults"),
    // --heap-profile: what the first nightly run allocated, garbage included.
    ...(nightlyHeap
      ? {
          nightlyAllocatedMb: round(nightlyHeap.summary.totalBytes / 1e6, 1),
          nightlyAllocatedKbPerUser: round(nightlyHeap.kbPerUser, 1),
          nightlyAllocatedMbByArea: Object.fromEntries(
            nightlyHeap.summary.areas.map((a) => [a.name, round(a.bytes / 1e6, 1)]),
          ),
        }
      : {}),
    engineStartRssMb: startRssMb,
    fullPeakRssMb: full.peakRssMb,
    nightlyPeakRssMb: nightly.peakRssMb,
    batchStates: { full: full.batch.final.state, nightly: nightly.batch.final.state },
    itemsCompared: fullCheck.itemsCompared + nightlyCheck.itemsCompared,
    itemMismatches: fullCheck.itemMismatches + nightlyCheck.itemMismatches,
    heartbeatCountMismatches: fullCheck.heartbeatCountMismatches + nightlyCheck.heartbeatCountMismatches,
    missingOrDoubledDays: fullCheck.missingOrDoubledDays + nightlyCheck.missingOrDoubledDays,
    sqlWorkMem: o.sqlWorkMem,
    freshNightly: o.freshNightly,
    idleBeforeNightlyMs: o.idleBeforeNightlyMs,
    instances: instanceRuns,
    machine,
    ...(o.keep ? { database: db.name } : {}),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return totalsEqual && completed && failoversHeld ? 0 : 1;
}

/** What a failover run shares with the rest of the benchmark. */
interface FailoverContext {
  /** The benchmark's prefix; each failover run derives its own from it. */
  readonly prefix: string;
  readonly dbUrl: string;
  readonly client: PgClient;
  readonly data: DatasetStats;
  readonly o: BenchOptions;
  readonly say: (line: string) => void;
}

/**
 * Failover recovery with `n` instances under a prefix of their own: the
 * leases bucket takes its TTL when it is created, so each lease TTL needs a
 * bucket of its own (fencing tokens come from the database, so a new bucket
 * cannot fence the engines out). Checks every day's totals afterwards.
 */
async function runFailover(
  n: number,
  timeouts: FailoverTimeouts,
  { prefix, dbUrl, client, data, o, say }: FailoverContext,
): Promise<FailoverRunResult> {
  const failoverPrefix = `${prefix}fo${n}l${timeouts.leaseTtlMs}a${timeouts.ackWaitMs}`;
  const nats = await ContractClient.connect(NATS_URL, failoverPrefix);
  try {
    say(
      `${n} instance(s), failover: ${o.failoverKills} SIGKILLs, AGG_LEASE_TTL_MS ${timeouts.leaseTtlMs}, AGG_ACK_WAIT_MS ${timeouts.ackWaitMs}...`,
    );
    const env = engineEnv(dbUrl, failoverPrefix, o, {
      AGG_LEASE_TTL_MS: String(timeouts.leaseTtlMs),
      AGG_ACK_WAIT_MS: String(timeouts.ackWaitMs),
    });
    const result = await measureFailover({
      instances: n,
      kills: o.failoverKills,
      timeouts,
      request: { mode: "regenerate", to: data.nightlyDay },
      batchTimeoutMs: BATCH_TIMEOUT_MS,
      nats,
      db: client,
      startEngine: (name) => startEngineWithFallback(o.engine, { name, env }, say),
      namePrefix: `bench-${randomBytes(2).toString("hex")}-fo${n}`,
      say,
    });
    const check = await compareWithReference(client, data.firstDay, data.nightlyDay);
    for (const e of check.examples) say(`mismatch after failover: ${e}`);
    return { ...result, exact: isExact(check) };
  } finally {
    await nats.deleteEngineStreams();
    await nats.close();
  }
}

/** Every batch completed, every orphaned user found a new owner, and the summaries are exact. */
function failoverHeld(f: FailoverRunResult): boolean {
  return f.exact && f.unrecovered === 0 && f.batchStates.every((s) => s === "completed");
}

/** The environment of every engine the benchmark starts (CONTRACT.md: configured by environment only). */
function engineEnv(
  url: string,
  prefix: string,
  o: BenchOptions,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    DATABASE_URL: url,
    NATS_URL,
    AGG_PREFIX: prefix,
    // The engine's own nightly schedule would start `missing` batches of its own mid-measurement.
    AGG_SCHEDULE: "off",
    ...(o.concurrency !== undefined ? { AGG_CONCURRENCY: String(o.concurrency) } : {}),
    ...extra,
  };
}

/** `--batch-scale`: one fresh database and one nightly batch per user count. */
async function runBatchScales(o: BenchOptions, say: (line: string) => void): Promise<number> {
  const results: BatchScaleResult[] = [];
  let machine: MachineInfo | undefined;
  for (const users of o.batchScale) {
    const db = await createBenchDatabase();
    try {
      say(`database ${db.name}`);
      await migrate(db.url);
      const prefix = `aggbench${randomBytes(4).toString("hex")}`;
      if (!machine) {
        const client = await db.connect();
        const nats = await ContractClient.connect(NATS_URL, prefix);
        machine = await describeMachine(client, nats.serverVersion);
        await nats.close();
        await client.end();
      }
      const r = await runBatchScale(db, users, prefix, NATS_URL, o, say);
      results.push(r);
      say(
        `batch scale ${formatCount(users)} users (${formatCount(r.usersWithWork)} with a new day): ` +
          `accepted in ${formatMs(r.acceptMs)}, ${r.state} in ${formatMs(r.ms)}; engine CPU ${r.engineCpuS} s, ` +
          `PostgreSQL CPU ${r.postgresCpuS} s; RSS ${r.engineStartRssMb} MB at start, peak ${r.peakRssMb} MB; ` +
          `${formatCount(r.usersSummarised)} users have yesterday's summary`,
      );
    } finally {
      if (o.keep) process.stderr.write(`bench: kept database ${db.name}: ${db.url}\n`);
      else await db.drop();
    }
  }
  process.stdout.write(`${JSON.stringify({ batchScale: results, machine })}\n`);
  return results.every((r) => r.state === "completed" && r.usersSummarised === r.users) ? 0 : 1;
}

/** One of a run's engine counters for the JSON (CPU to two decimals), null when /proc could not tell. */
function counter(c: ProcessCounters | null, field: keyof ProcessCounters): number | null {
  if (!c) return null;
  return field === "minorFaults" ? c[field] : round(c[field], 2);
}

/** ` (main thread 0.11 s, other threads 0.07 s, 2,794 page faults)`, or nothing when /proc could not tell. */
function describeCounters(c: ProcessCounters | null): string {
  if (!c) return "";
  return ` (main thread ${c.mainThreadCpuS.toFixed(2)} s, other threads ${c.otherThreadsCpuS.toFixed(2)} s, ${formatCount(c.minorFaults)} page faults)`;
}

/** Full regenerates of every day with `n` engine instances sharing one prefix. */
async function runInstances(
  n: number,
  prefix: string,
  url: string,
  data: DatasetStats,
  heartbeats: number,
  o: BenchOptions,
  say: (line: string) => void,
): Promise<Omit<InstancesRun, "failover">> {
  const nats = await ContractClient.connect(NATS_URL, prefix);
  const engines: EngineProcess[] = [];
  const tag = randomBytes(2).toString("hex");
  try {
    for (let i = 0; i < n; i++) {
      engines.push(
        await startEngineWithFallback(
          o.engine,
          { name: `bench-${tag}-${n}x${i + 1}`, env: engineEnv(url, prefix, o) },
          say,
        ),
      );
    }
    say(`${n} instance(s) started; full regenerate...`);
    const batch = await nats.runBatch({ mode: "regenerate", to: data.nightlyDay }, BATCH_TIMEOUT_MS);
    return {
      instances: n,
      ms: batch.ms,
      heartbeatsPerSecond: Math.round(heartbeats / (batch.ms / 1000)),
      state: batch.final.state,
    };
  } finally {
    await Promise.all(engines.map((e) => e.stop(10_000)));
    await nats.close();
  }
}

function describeBatch(b: BatchRun): string {
  const f = b.final;
  return `${f.state}: ${f.done} done, ${f.skipped} skipped, ${f.failed} failed of ${f.users}; accepted in ${formatMs(b.acceptMs)}`;
}

function describeFailover(f: FailoverRunResult): string {
  if (f.kills === 0)
    return `no kill orphaned a user (${f.idleKills} idle kills); batches ${f.batchStates.join(", ")}`;
  const orphaned = `${Math.min(...f.orphanedUsers)} to ${Math.max(...f.orphanedUsers)} users orphaned per kill`;
  const recovery =
    f.medianMs === null ? "none recovered" : `median ${formatMs(f.medianMs)}, worst ${formatMs(f.worstMs!)}`;
  const unrecovered = f.unrecovered > 0 ? `; ${f.unrecovered} NOT RECOVERED` : "";
  const batches = f.batchStates.every((s) => s === "completed")
    ? `${f.batchStates.length} batches completed`
    : `batches ${f.batchStates.join(", ")}`;
  return `${f.kills} kills: ${recovery}${unrecovered}; ${orphaned}; ${batches}; ${f.exact ? "exact" : "NOT EXACT"}`;
}

function describeComparison(c: Comparison): string {
  return isExact(c)
    ? `exact: ${formatCount(c.itemsCompared)} non-zero items equal; num_heartbeats and days equal`
    : `DIFFERENT: ${c.itemMismatches} of ${formatCount(c.itemsCompared)} items, ${c.heartbeatCountMismatches} num_heartbeats, ${c.missingOrDoubledDays} missing/doubled days`;
}

function describeMachineLine(m: MachineInfo): string {
  return `machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGb} GB; Node ${m.node}; PostgreSQL ${m.postgres}; NATS ${m.nats}; load average at start ${m.loadAverageAtStart}`;
}

/** A batch's allocations: the profile's summary, where the profile is, and KB per user of the batch. */
interface BatchAllocations {
  readonly summary: HeapSummary;
  readonly file: string;
  readonly kbPerUser: number;
}

function allocationsOf(summary: HeapSummary, file: string, users: number): BatchAllocations {
  return { summary, file, kbPerUser: summary.totalBytes / 1e3 / Math.max(1, users) };
}

function printHeapProfile({ summary, file, kbPerUser }: BatchAllocations, say: (line: string) => void): void {
  const mb = (bytes: number) => (bytes / 1e6).toFixed(1).padStart(7);
  const share = (s: number) => (s * 100).toFixed(1).padStart(5);
  say(
    `\nengine allocations in the first nightly run, garbage included (${file}, opens in Chrome DevTools): ` +
      `${(summary.totalBytes / 1e6).toFixed(1)} MB, ${kbPerUser.toFixed(1)} KB per user of the batch; by area:`,
  );
  for (const a of summary.areas) say(`  ${mb(a.bytes)} MB  ${share(a.share)} %  ${a.name}`);
  say("top functions by bytes allocated themselves:");
  for (const f of summary.functions) say(`  ${mb(f.bytes)} MB  ${share(f.share)} %  ${f.name}`);
}

function printProfile(dir: string, say: (line: string) => void): void {
  const summary = summarizeCpuProfile(dir);
  if (!summary) {
    say(`no .cpuprofile in ${dir}`);
    return;
  }
  say(`\nengine CPU profile ${summary.file} (${formatMs(summary.totalMs)} of wall time), self time by area:`);
  for (const a of summary.areas)
    say(`  ${String(a.ms).padStart(7)} ms  ${(a.share * 100).toFixed(1).padStart(5)} %  ${a.name}`);
  say("top functions by self time:");
  for (const f of summary.functions) {
    say(`  ${String(f.ms).padStart(7)} ms  ${(f.share * 100).toFixed(1).padStart(5)} %  ${f.name}`);
  }
}

async function main(): Promise<number> {
  let options: BenchOptions | "help";
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`bench: ${error.message}\n${USAGE}\n`);
      return 2;
    }
    throw error;
  }
  if (options === "help") {
    process.stderr.write(`${USAGE}\n`);
    return 0;
  }
  const o = options;
  const say = (line: string) => {
    if (!o.jsonOnly) process.stderr.write(`${line}\n`);
  };
  process.once("SIGINT", () => {
    process.stderr.write("bench: interrupted; cleaning up\n");
    void cleanUp().finally(() => process.exit(130));
  });
  try {
    return o.batchScale.length > 0 ? await runBatchScales(o, say) : await run(o, say);
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error)?.stack ?? error}\n`);
    process.stdout.write(`${JSON.stringify({ error: String((error as Error)?.message ?? error) })}\n`);
    return 1;
  } finally {
    await cleanUp();
  }
}

process.exitCode = await main();
