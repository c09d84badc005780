/**
 * The batch ledger on a real PostgreSQL: outcomes reported at the same time are
 * recorded by grouped statements, each exactly once.
 */
import { type AggDatabase, acquireUserLeases, migrateToLatest, writeUsersDays } from "@agg/store";
import { openTestPostgres, utcDaySummary } from "@agg/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatchLedger } from "../src/batch-ledger";

describe("BatchLedger", () => {
  let store: AggDatabase;
  let ledger: BatchLedger;

  beforeAll(async () => {
    store = await openTestPostgres();
    await migrateToLatest(store.db);
    ledger = new BatchLedger(store.db);
  });
  afterAll(async () => {
    await store?.close();
  });

  it("records each user's outcome once, however many reports arrive together", async () => {
    const users = Array.from({ length: 300 }, (_, i) => `u${i}`);
    await ledger.create({
      id: "b-many",
      mode: "missing",
      fromDay: null,
      toDay: null,
      request: {},
      acceptedBy: "test",
      knownUsers: users,
      unknownUsers: ["ghost"],
    });
    const outcome = (i: number) => (i % 10 === 0 ? "failed" : i % 7 === 0 ? "skipped" : "done");
    // Every user reported twice at once (a redelivery racing its original), with the same outcome.
    const recorded = await Promise.all(
      [...users, ...users].map((u, k) =>
        ledger.recordOutcome("b-many", u, outcome(k % users.length), null, "i1"),
      ),
    );
    const perUser = new Map<string, number>();
    recorded.forEach((r, k) => {
      if (r) perUser.set(users[k % users.length]!, (perUser.get(users[k % users.length]!) ?? 0) + 1);
    });
    expect(perUser.size).toBe(users.length);
    expect([...perUser.values()].every((n) => n === 1)).toBe(true);
    const expected = { done: 0, failed: 0, skipped: 1 };
    for (let i = 0; i < users.length; i++) expected[outcome(i)]++;
    expect(await ledger.status("b-many")).toEqual({
      batchId: "b-many",
      state: "running",
      users: 301,
      ...expected,
    });
    // A later report for a user already recorded changes nothing.
    expect(await ledger.recordOutcome("b-many", "u1", "failed", "late", "i2")).toBe(false);
    expect(await ledger.status("b-many")).toMatchObject(expected);
    expect(await ledger.recordOutcome("no-such-batch", "u1", "done", null, "i1")).toBe(false);
  });

  it("records a batch with every kind of user, in one statement and, when large, in chunks", async () => {
    for (const [id, pending] of [
      ["b-small", 5],
      ["b-large", 10_001],
    ] as const) {
      const knownUsers = Array.from({ length: pending }, (_, i) => `${id}-u${i}`);
      await ledger.create({
        id,
        mode: "missing",
        fromDay: null,
        toDay: null,
        request: { mode: "missing" },
        acceptedBy: "test",
        knownUsers,
        unknownUsers: ["ghost"],
        decided: {
          decided: [
            { userId: `${id}-fresh`, outcome: "done", reason: "up-to-date" },
            { userId: `${id}-idle`, outcome: "skipped", reason: "no-heartbeats" },
          ],
          decidedCounts: { done: 1, failed: 0, skipped: 1 },
        },
      });
      expect(await ledger.status(id)).toEqual({
        batchId: id,
        state: "running",
        users: pending + 3,
        done: 1,
        failed: 0,
        skipped: 2,
      });
      expect(await ledger.recordOutcome(id, knownUsers.at(-1)!, "done", null, "i1")).toBe(true);
      expect(await ledger.recordOutcome(id, `${id}-fresh`, "failed", null, "i1")).toBe(false);
    }
  });

  it("records a job done with its last day write, once, and never for a write fenced out", async () => {
    await ledger.create({
      id: "b-write",
      mode: "missing",
      fromDay: null,
      toDay: null,
      request: {},
      acceptedBy: "test",
      knownUsers: ["w1", "w2", "w3"],
      unknownUsers: [],
    });
    await store.db
      .insertInto("users")
      .values(["w1", "w2", "w3"].map((id) => ({ id })))
      .execute();
    const day = Date.UTC(2026, 0, 5);
    const tokens = await acquireUserLeases(store.db, ["w1", "w2", "w3"], "i1", 60_000);
    const write = (userId: string, token: bigint) => ({
      days: [utcDaySummary(userId, day, 3, [{ type: 0 as const, key: "p", total: 120_000 }])],
      fence: { token, holder: "i1" },
      completes: { batchId: "b-write", instance: "i1" },
    });
    const first = await writeUsersDays(store.db, [
      write("w1", tokens.get("w1")!),
      write("w2", tokens.get("w2")!),
      // A stale token: fenced out, so neither its days nor its outcome are recorded.
      write("w3", tokens.get("w3")! - 1n),
    ]);
    expect(first.map((w) => [w.refused === null, w.completed])).toEqual([
      [true, true],
      [true, true],
      [false, false],
    ]);
    expect(await ledger.status("b-write")).toMatchObject({ done: 2, failed: 0, skipped: 0 });
    // The same write again (a redelivered job): the days are replaced, the outcome is not recorded twice.
    const again = await writeUsersDays(store.db, [write("w1", tokens.get("w1")!)]);
    expect(again).toEqual([{ refused: null, completed: false }]);
    // A write that completes nothing leaves the ledger alone.
    const plain = await writeUsersDays(store.db, [{ days: write("w3", tokens.get("w3")!).days }]);
    expect(plain).toEqual([{ refused: null, completed: false }]);
    expect(await ledger.status("b-write")).toMatchObject({ done: 2, failed: 0, skipped: 0 });
  });
});
