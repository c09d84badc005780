/**
 * Batch triage on a real PostgreSQL: the users whose job would end at planning
 * are decided at acceptance, by the same rules the actor plans with.
 */
import { type AggDatabase, migrateToLatest, replaceDays } from "@agg/store";
import { openTestPostgres } from "@agg/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { triageBatchUsers } from "../src/batch-triage";

const DAY = 86_400_000;
const NOW = Date.UTC(2025, 5, 15, 12); // yesterday, in UTC, is 2025-06-14
const YESTERDAY = Date.UTC(2025, 5, 14);

describe("triageBatchUsers", () => {
  let store: AggDatabase;

  beforeAll(async () => {
    store = await openTestPostgres();
    await migrateToLatest(store.db);
    await store.db
      .insertInto("users")
      .values([
        { id: "no-heartbeats" },
        { id: "up-to-date" },
        { id: "behind" },
        // Tokyo's yesterday began 9 hours before UTC's: read in UTC, its summary would be a day behind.
        { id: "tokyo", location: "Asia/Tokyo" },
      ])
      .execute();
    for (const id of ["up-to-date", "behind", "tokyo"]) {
      await store.db
        .insertInto("heartbeats")
        .values({ user_id: id, entity: "a.go", time: new Date(YESTERDAY - 3 * DAY), created_at: new Date() })
        .execute();
    }
    const summary = (userId: string, fromTime: number) => ({
      userId,
      day: new Date(fromTime).toISOString().slice(0, 10),
      fromTime,
      toTime: fromTime + DAY,
      numHeartbeats: 0,
      items: [],
    });
    await replaceDays(store.db, [summary("up-to-date", YESTERDAY)]);
    await replaceDays(store.db, [summary("behind", YESTERDAY - 2 * DAY)]);
    await replaceDays(store.db, [summary("tokyo", YESTERDAY - 9 * 3_600_000)]);
  });
  afterAll(async () => {
    await store?.close();
  });

  const users = ["no-heartbeats", "up-to-date", "behind", "tokyo", "deleted-meanwhile"];

  it("decides up-to-date users (done) and users without heartbeats (skipped); the rest get jobs", async () => {
    const triage = await triageBatchUsers(store.db, users, { mode: "missing" }, NOW);
    expect(triage.withWork).toEqual(["behind"]);
    expect(triage.decided).toEqual([
      { userId: "no-heartbeats", outcome: "skipped", reason: "no-heartbeats" },
      { userId: "up-to-date", outcome: "done", reason: "up-to-date" },
      { userId: "tokyo", outcome: "done", reason: "up-to-date" },
      { userId: "deleted-meanwhile", outcome: "skipped", reason: "no-heartbeats" },
    ]);
  });

  it("reads a large batch's inputs with queries in parallel and decides each user as alone", async () => {
    // 250 users: the triage splits them over two queries; every one must be read.
    const ids = Array.from({ length: 250 }, (_, i) => `bulk-${String(i).padStart(3, "0")}`);
    await store.db
      .insertInto("users")
      .values(ids.map((id) => ({ id })))
      .execute();
    const withHeartbeats = ids.filter((_, i) => i % 2 === 0);
    await store.db
      .insertInto("heartbeats")
      .values(
        withHeartbeats.map((id) => ({
          user_id: id,
          entity: "a.go",
          time: new Date(YESTERDAY - 3 * DAY),
          created_at: new Date(),
        })),
      )
      .execute();
    const upToDate = withHeartbeats.filter((_, i) => i % 5 === 0);
    for (const id of upToDate) {
      await replaceDays(store.db, [
        {
          userId: id,
          day: "2025-06-14",
          fromTime: YESTERDAY,
          toTime: YESTERDAY + DAY,
          numHeartbeats: 0,
          items: [],
        },
      ]);
    }
    const triage = await triageBatchUsers(store.db, ids, { mode: "missing" }, NOW);
    expect(triage.withWork).toEqual(withHeartbeats.filter((id) => !upToDate.includes(id)));
    expect(triage.decided).toEqual(
      ids
        .filter((id) => !triage.withWork.includes(id))
        .map((userId) =>
          upToDate.includes(userId)
            ? { userId, outcome: "done", reason: "up-to-date" }
            : { userId, outcome: "skipped", reason: "no-heartbeats" },
        ),
    );
    expect(triage.decidedCounts).toEqual({ done: upToDate.length, failed: 0, skipped: 125 });
  });

  it("gives every user with heartbeats a job in a regenerate, and honours the request's days", async () => {
    const regenerate = await triageBatchUsers(store.db, users, { mode: "regenerate" }, NOW);
    expect(regenerate.withWork).toEqual(["up-to-date", "behind", "tokyo"]);
    // A `missing` run asked to start after yesterday has nothing to do for anyone.
    const future = await triageBatchUsers(store.db, users, { mode: "missing", from: "2025-06-20" }, NOW);
    expect(future.withWork).toEqual([]);
  });
});
