/**
 * One nightly schedule per cluster: of two instances exactly one leads; it
 * starts one `missing` batch per zone after that zone's local midnight (offset
 * 0 here, so every zone is due at once); the runs are recorded once per
 * (zone, day); and when the leader dies, the other instance takes over.
 */

import { openDatabase } from "@agg/store";
import {
  compareWithReference,
  createSeededDatabase,
  type EngineProcess,
  effectiveZone,
  generateDataset,
  readStoredSummaries,
  startEngine,
  TEST_NATS_URL,
  type TestDatabase,
  uniquePrefix,
} from "@agg/test-support";
import { afterAll, beforeAll, expect, it } from "vitest";

const prefix = uniquePrefix("schedule");
const data = generateDataset({ users: 20, days: 5, seed: 41, perDay: 30 });
const zones = new Map(data.users.map((u) => [u.id, effectiveZone(u.location)]));
let testDb: TestDatabase;
const engines: EngineProcess[] = [];

beforeAll(async () => {
  testDb = await createSeededDatabase(data);
}, 60_000);

afterAll(async () => {
  for (const e of engines) await e.stop(5_000);
  await testDb?.drop();
});

it("one leader starts each zone's run once; a new leader takes over when it dies", {
  timeout: 120_000,
}, async () => {
  const env = {
    DATABASE_URL: testDb.url,
    NATS_URL: TEST_NATS_URL,
    AGG_PREFIX: prefix,
    AGG_SCHEDULE: "on",
    AGG_SCHEDULE_OFFSET_MS: "0",
    AGG_SCHEDULE_TICK_MS: "300",
    AGG_LEASE_TTL_MS: "1500",
  };
  const [a, b] = await Promise.all([startEngine("sched-a", env), startEngine("sched-b", env)]);
  engines.push(a, b);
  const leading = (e: EngineProcess) => e.logs.some((l) => l.msg === "leading the nightly schedule");
  const deadline = Date.now() + 30_000;
  while (!leading(a) && !leading(b) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const leader = leading(a) ? a : b;
  const follower = leader === a ? b : a;
  expect(leading(follower)).toBe(false);

  // Every zone of the data set gets exactly one run for its current day, and its batch completes.
  const expectedZones = new Set(zones.values());
  const store = await openDatabase({ url: testDb.url, poolSize: 1 });
  try {
    let runs: { time_zone: string; day: string; batch_id: string | null }[] = [];
    let batches: { state: string }[] = [];
    const until = Date.now() + 60_000;
    while (Date.now() < until) {
      runs = await store.db
        .selectFrom("agg_schedule_runs")
        .select(["time_zone", "day", "batch_id"])
        .execute();
      batches = await store.db.selectFrom("agg_batches").select(["state"]).execute();
      if (
        runs.length >= expectedZones.size &&
        batches.length > 0 &&
        batches.every((x) => x.state !== "running")
      )
        break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(new Set(runs.map((r) => r.time_zone))).toEqual(expectedZones);
    expect(runs).toHaveLength(expectedZones.size);
    expect(runs.every((r) => r.batch_id !== null)).toBe(true);
    expect(batches.map((x) => x.state)).toEqual(runs.map(() => "completed"));
  } finally {
    await store.close();
  }
  const stored = await readStoredSummaries(testDb.url, zones);
  expect(stored.duplicates).toEqual([]);
  expect(compareWithReference(data.users, data.heartbeats, stored.days)).toEqual([]);

  // The leader dies: the follower leads within a few seconds, and reruns nothing already run.
  leader.signal("SIGKILL");
  const killedAt = Date.now();
  await follower.waitForLog((l) => l.msg === "leading the nightly schedule", 15_000);
  expect(Date.now() - killedAt).toBeLessThan(10_000);
  await new Promise((r) => setTimeout(r, 1_000));
  expect(follower.logs.filter((l) => l.msg === "nightly run started")).toEqual([]);
});
