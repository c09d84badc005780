/**
 * The same end-to-end path with zero database configuration: no DATABASE_URL,
 * so the engine keeps its data in the embedded PGlite store under AGG_DATA_DIR.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrateToLatest, openDatabase } from "@agg/store";
import {
  ContractClient,
  compareWithReference,
  type EngineProcess,
  effectiveZone,
  generateDataset,
  insertDataset,
  readStoredSummaries,
  startEngine,
  TEST_NATS_URL,
  uniquePrefix,
} from "@agg/test-support";
import { afterAll, beforeAll, expect, it } from "vitest";

const prefix = uniquePrefix("pglite");
const data = generateDataset({ users: 6, days: 6, seed: 17, perDay: 40 });
const zones = new Map(data.users.map((u) => [u.id, effectiveZone(u.location)]));
const dataDir = mkdtempSync(join(tmpdir(), "agg-e2e-pglite-"));
let engine: EngineProcess | undefined;
let client: ContractClient;

beforeAll(async () => {
  const store = await openDatabase({ dataDir: join(dataDir, "pglite") });
  await migrateToLatest(store.db);
  await insertDataset(store.db, data);
  await store.close();
  engine = await startEngine("pglite-1", {
    DATABASE_URL: "",
    AGG_DATA_DIR: dataDir,
    NATS_URL: TEST_NATS_URL,
    AGG_PREFIX: prefix,
  });
  client = await ContractClient.connect(prefix);
}, 120_000);

afterAll(async () => {
  await client?.close();
  await engine?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

it("summarises exactly into the embedded store", { timeout: 90_000 }, async () => {
  expect(engine!.logs.find((l) => l.msg === "engine started")).toMatchObject({ database: "pglite" });
  const { final } = await client.runBatch({});
  expect(final).toMatchObject({ state: "completed", users: data.users.length, failed: 0 });
  // A second missing run adds nothing.
  const again = await client.runBatch({ mode: "missing" });
  expect(again.final.state).toBe("completed");
  expect(await engine!.stop()).toBe(0);
  engine = undefined;

  const store = await openDatabase({ dataDir: join(dataDir, "pglite") });
  try {
    const stored = await readStoredSummaries(store.db, zones);
    expect(stored.duplicates).toEqual([]);
    expect(stored.rows).toBeGreaterThan(data.users.length * 4);
    expect(compareWithReference(data.users, data.heartbeats, stored.days)).toEqual([]);
  } finally {
    await store.close();
  }
});
