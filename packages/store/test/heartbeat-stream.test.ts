import { type AggDatabase, migrateToLatest, streamHeartbeats } from "@agg/store";
import { openTestPostgres, seededRandom } from "@agg/test-support";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** PostgreSQL-only cases of keyset streaming (the shared suite runs the rest on both engines). */
describe("streamHeartbeats on PostgreSQL", () => {
  let store: AggDatabase;

  beforeAll(async () => {
    store = await openTestPostgres();
    await migrateToLatest(store.db);
    await store.db
      .insertInto("users")
      .values([{ id: "micro" }, { id: "many" }])
      .execute();
  });
  afterAll(async () => {
    await store?.close();
  });

  it("neither repeats nor skips rows whose times differ below a millisecond", async () => {
    // A schema with microsecond times (not Wakapi's timestamptz(3)): a JS Date cursor would round.
    await sql`alter table heartbeats alter column time type timestamptz(6)`.execute(store.db);
    try {
      const times = ["00.000300", "00.000100", "00.000200", "00.000200", "00.000900", "00.001000"];
      await store.db
        .insertInto("heartbeats")
        .values(
          times.map((t, i) => ({
            id: 100 + i,
            user_id: "micro",
            entity: "x",
            time: `2024-03-01T00:00:${t}Z`,
            created_at: new Date(),
          })),
        )
        .execute();
      const ids: number[] = [];
      for await (const page of streamHeartbeats(
        store.db,
        "micro",
        Date.UTC(2024, 2, 1),
        Date.UTC(2024, 2, 2),
        2,
      )) {
        ids.push(...page.map((h) => h.id));
      }
      expect(ids).toEqual([101, 102, 103, 100, 104, 105]);
    } finally {
      await sql`alter table heartbeats alter column time type timestamptz(3)`.execute(store.db);
    }
  });

  it("returns every row once, in (time, id) order, for any page size", async () => {
    const random = seededRandom(7);
    const start = Date.UTC(2024, 2, 1);
    // 3000 heartbeats over ~5 minutes: many share a millisecond; ids are shuffled against time.
    const rows = Array.from({ length: 3000 }, (_, i) => ({
      id: 10_000 + i,
      time: start + Math.floor(random() * 300) * 1000,
    }));
    for (let i = 0; i < rows.length; i += 1000) {
      await store.db
        .insertInto("heartbeats")
        .values(
          rows.slice(i, i + 1000).map((r) => ({
            id: r.id,
            user_id: "many",
            entity: "x",
            time: new Date(r.time),
            created_at: new Date(),
          })),
        )
        .execute();
    }
    const expected = [...rows].sort((a, b) => a.time - b.time || a.id - b.id).map((r) => r.id);
    for (const pageSize of [1, 17, 999, 1000, 3000, 5000]) {
      const got: number[] = [];
      for await (const page of streamHeartbeats(store.db, "many", start, start + 86_400_000, pageSize)) {
        expect(page.length).toBeLessThanOrEqual(pageSize);
        got.push(...page.map((h) => h.id));
      }
      expect(got).toEqual(expected);
    }
  });
});
