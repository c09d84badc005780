/**
 * The user store on a real PostgreSQL: calls of concurrent actors are answered
 * together, and grouping never merges users' fates.
 */
import { type DaySummary, SummaryItemType } from "@agg/core";
import {
  type AggDatabase,
  acquireUserLeases,
  FencedOutError,
  listSummaries,
  migrateToLatest,
  releaseUserLeases,
} from "@agg/store";
import { openTestPostgres, utcDaySummary } from "@agg/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserStore } from "../src/user-store";

const DAY = 86_400_000;
const T0 = Date.UTC(2025, 0, 1);

function day(userId: string, index: number, numHeartbeats: number): DaySummary {
  return utcDaySummary(userId, T0 + index * DAY, numHeartbeats, [
    { type: SummaryItemType.project, key: "agg", total: numHeartbeats },
  ]);
}

describe("UserStore", () => {
  let store: AggDatabase;
  let users: UserStore;
  const ids = Array.from({ length: 20 }, (_, i) => `s${i}`);

  beforeAll(async () => {
    store = await openTestPostgres();
    await migrateToLatest(store.db);
    await store.db
      .insertInto("users")
      .values(ids.map((id) => ({ id })))
      .execute();
    users = new UserStore(store.db, { maxGroup: 8, maxInFlight: 1 });
  });
  afterAll(async () => {
    await store?.close();
  });

  it("answers concurrent plans per user", async () => {
    const plans = await Promise.all([...ids, "ghost"].map((id) => users.planInputs(id)));
    expect(plans.slice(0, -1).map((p) => p?.settings.userId)).toEqual(ids);
    expect(plans.at(-1)).toBeNull();
  });

  it("fails a fenced-out user's write and a malformed write alone; the rest of their groups is written", async () => {
    // Every user's tenure 1, and s0's tenure 2.
    await acquireUserLeases(store.db, ids, "instance-a", 60_000);
    await releaseUserLeases(store.db, [{ userId: "s0", token: 1n }], "instance-a");
    await acquireUserLeases(store.db, ["s0"], "instance-a", 60_000);
    const fence = (id: string) => ({ token: id === "s0" ? 2n : 1n, holder: "instance-a" });
    const writes = ids.map((id, i) =>
      users.writeDays({
        // s3's days overlap: the store refuses that write (and, grouped, its whole group at first).
        days: id === "s3" ? [day(id, 0, 1), { ...day(id, 0, 2), day: "again" }] : [day(id, 0, i + 1)],
        // s5 writes under a token older than the stored one.
        fence: id === "s5" ? { token: 0n, holder: "instance-a" } : fence(id),
      }),
    );
    const settled = await Promise.allSettled(writes);
    const failed = ids.filter((_, i) => settled[i]!.status === "rejected");
    expect(failed).toEqual(["s3", "s5"]);
    expect((settled[5] as PromiseRejectedResult).reason).toBeInstanceOf(FencedOutError);
    for (const [i, id] of ids.entries()) {
      const stored = await listSummaries(store.db, id, T0, T0 + DAY);
      expect(stored.map((d) => d.numHeartbeats)).toEqual(failed.includes(id) ? [] : [i + 1]);
    }
  });

  it("reads durations of short ranges together and of long ranges alone, the same way", async () => {
    const days = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        day: `d${i}`,
        fromTime: T0 + i * DAY,
        toTime: T0 + (i + 1) * DAY,
      }));
    await store.db
      .insertInto("heartbeats")
      .values(
        [1, 2, 3].map((k) => ({
          user_id: "s1",
          entity: "main.go",
          project: "agg",
          time: new Date(T0 + k * 1000),
          created_at: new Date(),
        })),
      )
      .execute();
    const short = await Promise.all(
      ids.map((userId) =>
        users.dayDurations({ userId, days: days(1), timeoutMs: 600_000, withEntity: false }),
      ),
    );
    const long = await users.dayDurations({
      userId: "s1",
      days: days(31),
      timeoutMs: 600_000,
      withEntity: true,
    });
    const credited = { dayIndex: 0, project: "agg", creditedMs: 2000, heartbeats: 3 };
    expect(short[1]).toEqual([expect.objectContaining({ ...credited, entity: null })]);
    expect(short.filter((rows) => rows.length > 0)).toHaveLength(1);
    expect(long).toEqual([expect.objectContaining({ ...credited, entity: "main.go" })]);
  });
});
