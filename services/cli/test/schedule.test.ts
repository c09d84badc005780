import { migrateToLatest, openDatabase } from "@agg/store";
import { createTestDatabase, type TestDatabase } from "@agg/test-support";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runAgg } from "./run-agg";

let testDb: TestDatabase;

beforeAll(async () => {
  testDb = await createTestDatabase();
  const store = await openDatabase({ url: testDb.url });
  await migrateToLatest(store.db);
  await store.db
    .insertInto("users")
    .values([
      { id: "a", location: "Asia/Kolkata" },
      { id: "b", location: "Asia/Kolkata" },
      { id: "c", location: "nowhere/at-all" },
    ])
    .execute();
  await store.db
    .insertInto("agg_schedule_runs")
    .values({ time_zone: "UTC", day: "2026-01-02", batch_id: "b1" })
    .execute();
  await store.close();
});

afterAll(() => testDb?.drop());

it("lists the next run of every zone with its users, soonest first, and the recent runs", async () => {
  const run = await runAgg(["schedule"], {
    env: { DATABASE_URL: testDb.url, AGG_SCHEDULE_OFFSET_MS: "900000" },
  });
  expect(run.code).toBe(0);
  const out = JSON.parse(run.stdout);
  expect(out.offsetMs).toBe(900_000);
  expect(out.next.map((n: { timeZone: string; users: number }) => [n.timeZone, n.users]).sort()).toEqual([
    ["Asia/Kolkata", 2],
    ["UTC", 1],
  ]);
  for (const n of out.next) {
    const due = Date.parse(n.dueAt);
    expect(due).toBeGreaterThan(Date.now() - 5_000);
    expect(due - Date.now()).toBeLessThan(25 * 3_600_000);
  }
  expect(out.recent).toEqual([
    expect.objectContaining({ timeZone: "UTC", day: "2026-01-02", batchId: "b1" }),
  ]);
});

it("refuses a bad offset with exit 2", async () => {
  const run = await runAgg(["schedule"], {
    env: { DATABASE_URL: testDb.url, AGG_SCHEDULE_OFFSET_MS: "soon" },
  });
  expect(run.code).toBe(2);
  expect(run.stderr).toContain("AGG_SCHEDULE_OFFSET_MS");
});
