/**
 * A crash between acceptance and completion loses nothing: the engine is
 * killed with SIGKILL while a batch runs, a new one starts on the same database
 * and NATS, and the batch completes with every (user, day) exact and none doubled.
 */

import { openDatabase } from "@agg/store";
import {
  ContractClient,
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

const prefix = uniquePrefix("restart");
const data = generateDataset({ users: 40, days: 20, seed: 11, perDay: 80 });
const zones = new Map(data.users.map((u) => [u.id, effectiveZone(u.location)]));
let testDb: TestDatabase;
const engines: EngineProcess[] = [];
let client: ContractClient;

beforeAll(async () => {
  testDb = await createSeededDatabase(data);
  client = await ContractClient.connect(prefix);
});

afterAll(async () => {
  await client?.close();
  for (const e of engines) await e.stop(5_000);
  await testDb?.drop();
});

const env = () => ({
  DATABASE_URL: testDb.url,
  NATS_URL: TEST_NATS_URL,
  AGG_PREFIX: prefix,
  // One user at a time, so the batch is still running when the engine dies.
  AGG_CONCURRENCY: "1",
  AGG_ACK_WAIT_MS: "1500",
});

it("kill -9 mid-batch, start again: the batch completes exactly", { timeout: 120_000 }, async () => {
  const first = await startEngine("restart-1", env());
  engines.push(first);
  const events: Record<string, unknown>[] = [];
  const sub = client.nc.subscribe(`${prefix}.batch.*`, {
    callback: (_e, m) => {
      events.push(m.json());
    },
  });
  const accepted = await client.call("request", {});
  expect(accepted.users).toBe(data.users.length);

  // Wait until some, but not all, users are done.
  await first.waitForLog((l) => l.msg === "user finished", 30_000);
  first.signal("SIGKILL");
  expect(await first.exited).toBe("SIGKILL");
  // The kill really was mid-batch: some users are still pending in the ledger.
  const store = await openDatabase({ url: testDb.url, poolSize: 1 });
  const pending = await store.db
    .selectFrom("agg_batch_users")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("batch_id", "=", accepted.batchId as string)
    .where("status", "=", "pending")
    .executeTakeFirstOrThrow();
  await store.close();
  expect(Number(pending.n)).toBeGreaterThan(0);

  const second = await startEngine("restart-2", env());
  engines.push(second);
  const deadline = Date.now() + 90_000;
  while (!events.some((e) => e.type === "final" && e.batchId === accepted.batchId) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
  }
  await new Promise((r) => setTimeout(r, 500));
  sub.unsubscribe();
  const finals = events.filter((e) => e.type === "final" && e.batchId === accepted.batchId);
  expect(finals).toHaveLength(1);
  expect(finals[0]).toMatchObject({ state: "completed", users: data.users.length, failed: 0 });

  const stored = await readStoredSummaries(testDb.url, zones);
  expect(stored.duplicates).toEqual([]);
  expect(compareWithReference(data.users, data.heartbeats, stored.days)).toEqual([]);
});
