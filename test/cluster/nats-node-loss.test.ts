import {
  ContractClient,
  compareWithReference,
  createSeededDatabase,
  type EngineProcess,
  effectiveZone,
  generateDataset,
  type NatsCluster,
  readStoredSummaries,
  startEngine,
  startNatsCluster,
  type TestDatabase,
  uniquePrefix,
} from "@agg/test-support";
import { afterAll, beforeAll, expect, it } from "vitest";

const prefix = uniquePrefix("natsloss");
const data = generateDataset({ users: 80, days: 20, seed: 31, perDay: 60 });
const zones = new Map(data.users.map((u) => [u.id, effectiveZone(u.location)]));
let testDb: TestDatabase;
let cluster: NatsCluster;
const engines: EngineProcess[] = [];
let client: ContractClient;

beforeAll(async () => {
  [testDb, cluster] = await Promise.all([createSeededDatabase(data), startNatsCluster(3)]);
  const env = {
    DATABASE_URL: testDb.url,
    NATS_URL: cluster.urls,
    AGG_PREFIX: prefix,
    AGG_JS_REPLICAS: "3",
    AGG_CONCURRENCY: "1",
    AGG_ACK_WAIT_MS: "3000",
    AGG_LEASE_TTL_MS: "4000",
  };
  engines.push(await startEngine("natsloss-a", env), await startEngine("natsloss-b", env));
  client = await ContractClient.connect(prefix, cluster.urls);
}, 120_000);

afterAll(async () => {
  await client?.close();
  for (const e of engines) await e.stop(10_000);
  await cluster?.stop();
  await testDb?.drop();
});

it("kills one of three NATS nodes mid-batch; the batch completes exactly", { timeout: 180_000 }, async () => {
  const events: Record<string, unknown>[] = [];
  const sub = client.nc.subscribe(`${prefix}.batch.*`, {
    callback: (_e, m) => {
      events.push(m.json());
    },
  });
  const accepted = await client.call("request", {});
  const batchId = accepted.batchId as string;

  // Kill a node as soon as some work is done.
  const deadline1 = Date.now() + 60_000;
  while (!events.some((e) => e.batchId === batchId && (e.done as number) > 0) && Date.now() < deadline1) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const finishedEarly = events.some((e) => e.type === "final");
  await cluster.killNode(0);

  // Progress events may be lost while clients reconnect; the status is durable.
  const deadline = Date.now() + 120_000;
  let status: Record<string, unknown> = {};
  while (Date.now() < deadline) {
    status = await client.call("status", { batchId }, 3_000).catch(() => ({}));
    if (status.state && status.state !== "running") break;
    await new Promise((r) => setTimeout(r, 500));
  }
  sub.unsubscribe();
  expect(finishedEarly).toBe(false);
  expect(status).toMatchObject({ state: "completed", users: data.users.length, failed: 0 });

  const stored = await readStoredSummaries(testDb.url, zones);
  expect(stored.duplicates).toEqual([]);
  expect(compareWithReference(data.users, data.heartbeats, stored.days)).toEqual([]);
  // Both engines are still alive.
  for (const e of engines) expect(e.child.exitCode).toBeNull();
});
