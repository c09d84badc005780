/**
 * The batch ledger on a real PostgreSQL: outcomes reported at the same time are
 * recorded by grouped statements, each exactly once.
 */
import { type AggDatabase, migrateToLatest } from "@agg/store";
import { openTestPostgres } from "@agg/test-support";
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
});
