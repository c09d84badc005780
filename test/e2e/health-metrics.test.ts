/**
 * Health and metrics of a real engine (issue 7, item 6): with METRICS_PORT set,
 * /healthz says 200 and /metrics counts what the engine did.
 */
import { createServer } from "node:net";
import { migrateToLatest, openDatabase } from "@agg/store";
import {
  ContractClient,
  createTestDatabase,
  type EngineProcess,
  generateDataset,
  insertDataset,
  startEngine,
  TEST_NATS_URL,
  type TestDatabase,
  uniquePrefix,
} from "@agg/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("engine /healthz and /metrics", () => {
  const prefix = uniquePrefix("metrics");
  const data = generateDataset({ users: 3, days: 3, seed: 5 });
  let testDb: TestDatabase;
  let engine: EngineProcess;
  let client: ContractClient;
  let base: string;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    const store = await openDatabase({ url: testDb.url });
    await migrateToLatest(store.db);
    await store.close();
    await insertDataset(testDb.url, data);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    engine = await startEngine("metrics-1", {
      DATABASE_URL: testDb.url,
      NATS_URL: TEST_NATS_URL,
      AGG_PREFIX: prefix,
      METRICS_PORT: String(port),
    });
    client = await ContractClient.connect(prefix);
  });

  afterAll(async () => {
    await client?.close();
    await engine?.stop();
    await testDb?.drop();
  });

  it("is healthy and counts a batch's users", async () => {
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "ok" });

    const users = [...data.users.map((u) => u.id), "nobody"];
    const { final } = await client.runBatch({ users });
    expect(final.state).toBe("completed");
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(sample(text, 'agg_batches_total{state="accepted"}')).toBe(1);
    expect(sample(text, 'agg_batches_total{state="completed"}')).toBe(1);
    expect(sample(text, 'agg_users_total{outcome="done"}')).toBe(final.done);
    expect(sample(text, 'agg_users_total{outcome="skipped"}')).toBe(final.skipped);
    expect(sample(text, 'agg_users_total{outcome="failed"}')).toBe(0);
    expect(sample(text, "agg_days_written_total")).toBeGreaterThan(0);
    expect(sample(text, "agg_heartbeats_read_total")).toBeGreaterThan(0);
    expect(sample(text, 'agg_user_aggregation_seconds_count{outcome="done"}')).toBe(final.done);
    expect(sample(text, 'agg_batch_duration_seconds_count{state="completed"}')).toBe(1);
    expect(sample(text, "agg_up")).toBe(1);
  });
});
