/**
 * The engine end to end, driven only through CONTRACT.md: real PostgreSQL, real
 * NATS, the engine as a child process. The oracle is the naive reference
 * implementation in test/support, which shares no code with packages/core.
 */

import { migrateToLatest, openDatabase } from "@agg/store";
import {
  ContractClient,
  compareWithReference,
  createTestDatabase,
  type EngineProcess,
  effectiveZone,
  generateDataset,
  insertDataset,
  insertHeartbeats,
  readStoredSummaries,
  startEngine,
  TEST_NATS_URL,
  type TestDatabase,
  uniquePrefix,
} from "@agg/test-support";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

describe("agg.request -> summaries (PostgreSQL)", () => {
  const prefix = uniquePrefix("e2e");
  const data = generateDataset({ users: 12, days: 9, seed: 7 });
  const zones = new Map(data.users.map((u) => [u.id, effectiveZone(u.location)]));
  let testDb: TestDatabase;
  let engine: EngineProcess;
  let client: ContractClient;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    const store = await openDatabase({ url: testDb.url });
    await migrateToLatest(store.db);
    await store.close();
    await insertDataset(testDb.url, data);
    engine = await startEngine("e2e-1", {
      DATABASE_URL: testDb.url,
      NATS_URL: TEST_NATS_URL,
      AGG_PREFIX: prefix,
      AGG_CONCURRENCY: "4",
    });
    client = await ContractClient.connect(prefix);
  });

  afterAll(async () => {
    await client?.close();
    await engine?.stop();
    await testDb?.drop();
  });

  it("summarises every user's days exactly, and counts an unknown user as skipped", async () => {
    const users = [...data.users.map((u) => u.id), "nobody-at-all"];
    const { accepted, final, events } = await client.runBatch({ users });
    expect(accepted.users).toBe(users.length);
    expect(final).toMatchObject({
      batchId: accepted.batchId,
      state: "completed",
      users: users.length,
      failed: 0,
    });
    expect((final.done as number) + (final.skipped as number)).toBe(users.length);
    expect(events.filter((e) => e.type === "final")).toHaveLength(1);

    const stored = await readStoredSummaries(testDb.url, zones);
    expect(stored.duplicates).toEqual([]);
    // 12 users over 9-10 days: the comparison below covers every one of those rows.
    expect(stored.rows).toBeGreaterThan(12 * 8);
    expect(compareWithReference(data.users, data.heartbeats, stored.days)).toEqual([]);

    const status = await client.call("status", { batchId: accepted.batchId });
    expect(status).toEqual({
      batchId: final.batchId,
      state: final.state,
      users: final.users,
      done: final.done,
      failed: final.failed,
      skipped: final.skipped,
    });

    // Idle after its work, the engine runs its warm-up again (AGG_REWARM_IDLE_MS), to its end.
    const rewarmed = await engine.waitForLog((l) => l.msg === "user machine warmed up again", 15_000);
    expect(rewarmed).toMatchObject({ finished: true, jobs: 1_000 });
  });

  it("a second missing run adds nothing", async () => {
    const before = await readStoredSummaries(testDb.url, zones);
    const { final } = await client.runBatch({ mode: "missing" });
    expect(final.state).toBe("completed");
    const after = await readStoredSummaries(testDb.url, zones);
    expect(after.rows).toBe(before.rows);
    expect(after.duplicates).toEqual([]);
  });

  it("regenerate after late heartbeats gives the new truth, atomically per day", async () => {
    const user = data.users[1]!;
    const zone = effectiveZone(user.location);
    // Late heartbeats: two days ago at local noon-ish, a few minutes apart.
    const base = Date.now() - 2 * 86_400_000;
    const late = [0, 60_000, 90_000, 150_000].map((offset, i) => ({
      id: 10_000_000 + i,
      userId: user.id,
      time: base + offset,
      entity: "late.ts",
      project: "late-project",
      language: "TypeScript",
      editor: "vscode",
      operatingSystem: "Linux",
      machine: "laptop",
      category: "coding",
    }));
    const store = await openDatabase({ url: testDb.url });
    await insertHeartbeats(store.db, late);
    await store.close();
    data.heartbeats.push(...late);

    const { final } = await client.runBatch({ users: [user.id], mode: "regenerate" });
    expect(final.state).toBe("completed");
    const stored = await readStoredSummaries(testDb.url, zones);
    expect(stored.duplicates).toEqual([]);
    expect(compareWithReference(data.users, data.heartbeats, stored.days)).toEqual([]);
    expect([...stored.days.values()].some((d) => d.items.has("0|late-project"))).toBe(true);
    expect(zone).toBeTruthy();
  });

  it("answers malformed requests on every subject with an error code, and writes nothing", async () => {
    const before = await readStoredSummaries(testDb.url, zones);
    const batchesBefore = await countBatches(testDb.url);
    const enc = new TextEncoder();
    const fuzz: [string, unknown][] = [
      ["request", enc.encode("{not json")],
      ["request", enc.encode("[1,2]")],
      ["request", enc.encode("null")],
      ["request", enc.encode("42")],
      ["request", { user: ["a"] }],
      ["request", { users: [] }],
      ["request", { users: "alice" }],
      ["request", { users: [1, 2] }],
      ["request", { mode: "everything" }],
      ["request", { from: "2025-02-30" }],
      ["request", { from: "2025-01-10", to: "2025-01-01" }],
      ["request", { to: "tomorrow" }],
      ["request", { users: Array.from({ length: 10_001 }, (_, i) => `u${i}`) }],
      ["request", new Uint8Array([0xff, 0xfe, 0xfd])],
      ["status", {}],
      ["status", { batchId: 7 }],
      ["status", { batchId: "does-not-exist" }],
      ["status", enc.encode("{")],
      ["inspect", { bogus: true }],
      ["inspect", enc.encode("][")],
    ];
    for (const [subject, payload] of fuzz) {
      const started = Date.now();
      const reply = await client.call(subject, payload, 2_000);
      expect(Date.now() - started).toBeLessThan(2_000);
      const error = reply.error as { code?: string; message?: string } | undefined;
      expect(error, `${subject} ${JSON.stringify(payload).slice(0, 80)}`).toBeDefined();
      expect(["BAD_REQUEST", "NOT_FOUND", "UNKNOWN_USER"]).toContain(error!.code);
      expect(error!.message).toBeTruthy();
    }
    // The engine is alive and answers.
    const inspect = await client.call("inspect", {});
    expect(Array.isArray(inspect.instances)).toBe(true);
    const after = await readStoredSummaries(testDb.url, zones);
    expect(after.rows).toBe(before.rows);
    expect(await countBatches(testDb.url)).toBe(batchesBefore);
  });
});

async function countBatches(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ n: number }>("select count(*)::int as n from agg_batches");
    return r.rows[0]!.n;
  } finally {
    await c.end();
  }
}
