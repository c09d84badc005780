import { SummaryItemType } from "@agg/core";
import { type AggDatabase, migrateToLatest, openDatabase, replaceDays, warmConnections } from "@agg/store";
import { createTestDatabase, openTestPglite, type TestDatabase, utcDaySummary } from "@agg/test-support";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertHeartbeats, insertUser } from "./stores";

/** The id the warm-up makes up, given to a real user here: the worst case for "writes nothing". */
const NAMESAKE = "agg-connection-warm-up";
const DAY_2000_01_01 = Date.UTC(2000, 0, 1);

/** What a write would change: row counts and the largest summary id. */
async function footprint(store: AggDatabase) {
  const { rows } = await sql<Record<string, string>>`
    select (select count(*) from heartbeats)::text as heartbeats,
      (select count(*) from summaries)::text as summaries,
      (select count(*) from summary_items)::text as items,
      (select coalesce(max(id), 0) from summaries)::text as max_summary_id,
      (select count(*) from agg_user_fences)::text as fences,
      (select count(*) from agg_batch_users)::text as batch_users`.execute(store.db);
  return rows[0];
}

describe("warmConnections (PostgreSQL)", () => {
  let testDb: TestDatabase;
  let store: AggDatabase;
  let observer: AggDatabase;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    store = await openDatabase({ url: testDb.url, poolSize: 3 });
    observer = await openDatabase({ url: testDb.url, poolSize: 1 });
    await migrateToLatest(store.db);
    await insertUser(store.db, NAMESAKE, { location: "UTC", timeoutSec: 120 });
    await insertHeartbeats(store.db, NAMESAKE, [
      { time: DAY_2000_01_01 + 3_600_000 },
      { time: DAY_2000_01_01 + 3_660_000 },
    ]);
    await replaceDays(store.db, [
      utcDaySummary(NAMESAKE, DAY_2000_01_01, 2, [{ type: SummaryItemType.project, key: "agg", total: 60 }]),
    ]);
  });
  afterAll(async () => {
    await store?.close();
    await observer?.close();
    await testDb?.drop();
  });

  it("runs the critical path's statements on as many distinct connections as asked, and writes nothing", async () => {
    const before = await footprint(observer);
    const pids = await warmConnections(store.db, 3);
    expect(new Set(pids).size).toBe(3);
    // Each backend's last statement (pg_stat_activity keeps it while idle) is the warm-up's last one.
    const { rows } = await sql<{ pid: number; query: string }>`
      select pid, query from pg_stat_activity where pid = any(${pids})`.execute(observer.db);
    expect(rows.map((r) => r.pid).sort()).toEqual([...pids].sort());
    for (const r of rows) expect(r.query).toContain("agg_replace_user_days");
    expect(await footprint(observer)).toEqual(before);
  });

  it("gives up gathering after gatherMs when the pool is smaller than asked, and warms what it got", async () => {
    const small = await openDatabase({ url: testDb.url, poolSize: 1 });
    try {
      const pids = await warmConnections(small.db, 3, { gatherMs: 50 });
      expect(pids).toHaveLength(3);
      expect(new Set(pids).size).toBe(1);
    } finally {
      await small.close();
    }
  });

  it("does nothing for a count of 0", async () => {
    expect(await warmConnections(store.db, 0)).toEqual([]);
  });
});

describe("warmConnections (PGlite)", () => {
  it("warms the one session, and writes nothing", async () => {
    const store = await openTestPglite();
    try {
      await migrateToLatest(store.db);
      await insertUser(store.db, NAMESAKE, { location: "UTC", timeoutSec: 120 });
      await insertHeartbeats(store.db, NAMESAKE, [{ time: DAY_2000_01_01 + 3_600_000 }]);
      const before = await footprint(store);
      expect(await warmConnections(store.db, 1)).toHaveLength(1);
      expect(await footprint(store)).toEqual(before);
    } finally {
      await store.close();
    }
  });
});
