/**
 * `pnpm bench --batch-scale N`: a nightly `missing` batch over N users, 95 % of
 * them already up to date (issue 6, "scale of a batch"). Measures how long the
 * batch takes to be accepted (planning: user list, ledger rows, durable jobs)
 * and to finish, and the engine's peak RSS, which must be bounded by the users
 * in flight, not by N.
 */
import { type BenchDatabase, backendCpu, cpuBetween } from "./bench-database";
import { ContractClient } from "./contract";
import { type EngineProcess, startEngineWithFallback } from "./engine-process";
import type { BenchOptions } from "./options";
import { processCpuSeconds, processMemoryMb, RssSampler } from "./proc";

export interface BatchScaleResult {
  readonly users: number;
  /** Users with a new day to summarise (the rest are up to date). */
  readonly usersWithWork: number;
  /** From `agg.request` to its reply (the batch accepted and durable). */
  readonly acceptMs: number;
  /** From `agg.request` to the final event. */
  readonly ms: number;
  readonly state: string;
  readonly engineCpuS: number;
  readonly postgresCpuS: number;
  readonly engineStartRssMb: number;
  readonly peakRssMb: number;
  /** Users whose yesterday has its summary after the batch (must be all of them). */
  readonly usersSummarised: number;
}

/** UTC users with one old heartbeat and summaries through yesterday; every 20th has a new day. */
async function seed(db: BenchDatabase, users: number): Promise<number> {
  const client = await db.connect();
  try {
    await client.query("set session_replication_role = replica");
    await client.query(
      `insert into users (id, location) select format('scale-%s', lpad(i::text, 7, '0')), 'UTC'
       from generate_series(1, $1::int) i`,
      [users],
    );
    // Days in UTC (the users' zone), whatever the server's TimeZone setting.
    const today = "(now() at time zone 'UTC')::date";
    await client.query(`insert into heartbeats (user_id, entity, project, time, hash, created_at)
      select id, 'main.go', 'agg', (${today} - 10 + time '12:00') at time zone 'UTC', 'a' || id, now() from users`);
    const fresh =
      await client.query(`insert into heartbeats (user_id, entity, project, time, hash, created_at)
      select id, 'main.go', 'agg', (${today} - 1 + time '12:00') at time zone 'UTC', 'b' || id, now()
      from users where abs(hashtext(id)) % 20 = 0`);
    await client.query(`insert into summaries (user_id, from_time, to_time, num_heartbeats)
      select u.id, d at time zone 'UTC', (d + interval '1 day') at time zone 'UTC', 0 from users u
      cross join lateral generate_series((${today} - 10)::timestamp,
        (${today} - case when abs(hashtext(u.id)) % 20 = 0 then 2 else 1 end)::timestamp, interval '1 day') d`);
    await client.query("vacuum (analyze)");
    return fresh.rowCount ?? 0;
  } finally {
    await client.end();
  }
}

/** Runs the scenario on `db` (migrated, empty) with one engine under `prefix`. */
export async function runBatchScale(
  db: BenchDatabase,
  users: number,
  prefix: string,
  natsUrl: string,
  o: BenchOptions,
  say: (line: string) => void,
): Promise<BatchScaleResult> {
  const usersWithWork = await seed(db, users);
  say(`batch scale: ${users} users seeded (${usersWithWork} with a new day); nightly run (missing)...`);
  const client = await db.connect();
  const nats = await ContractClient.connect(natsUrl, prefix);
  let engine: EngineProcess | undefined;
  try {
    engine = await startEngineWithFallback(
      o.engine,
      {
        name: `bench-scale-${users}`,
        env: {
          DATABASE_URL: db.url,
          NATS_URL: natsUrl,
          AGG_PREFIX: prefix,
          AGG_SCHEDULE: "off",
          AGG_MAX_USERS_PER_REQUEST: String(Math.max(users, 10_000)),
          ...(o.concurrency !== undefined ? { AGG_CONCURRENCY: String(o.concurrency) } : {}),
        },
      },
      say,
    );
    const sampler = new RssSampler(engine.pid);
    const engineStartRssMb = sampler.takePeak();
    const cpu0 = processCpuSeconds(engine.pid) ?? 0;
    const db0 = await backendCpu(client, db.name);
    const batch = await nats.runBatch({ mode: "missing" }, 60 * 60_000);
    const engineCpuS = (processCpuSeconds(engine.pid) ?? 0) - cpu0;
    const postgresCpuS = cpuBetween(db0, await backendCpu(client, db.name));
    sampler.stop();
    const peakRssMb = Math.round(processMemoryMb(engine.pid)?.hwm ?? sampler.takePeak());
    const done = await client.query<{ n: number }>(
      "select count(distinct user_id)::int as n from summaries where from_time = ((now() at time zone 'UTC')::date - 1) at time zone 'UTC'",
    );
    return {
      users,
      usersWithWork,
      acceptMs: batch.acceptMs,
      ms: batch.ms,
      state: batch.final.state,
      engineCpuS: Math.round(engineCpuS * 10) / 10,
      postgresCpuS: Math.round(postgresCpuS * 10) / 10,
      engineStartRssMb,
      peakRssMb,
      usersSummarised: done.rows[0]!.n,
    };
  } finally {
    await engine?.stop();
    await nats.deleteEngineStreams();
    await nats.close();
    await client.end();
  }
}
