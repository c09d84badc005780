import {
  ContractClient,
  createSeededDatabase,
  type EngineProcess,
  generateDataset,
  startEngine,
  TEST_NATS_URL,
  type TestDatabase,
  uniquePrefix,
} from "@agg/test-support";
import { afterAll, beforeAll, expect, it } from "vitest";

const prefix = uniquePrefix("overload");
const data = generateDataset({ users: 60, days: 20, seed: 13, perDay: 60 });
let testDb: TestDatabase;
let engine: EngineProcess;
let client: ContractClient;

beforeAll(async () => {
  testDb = await createSeededDatabase(data);
  engine = await startEngine("overload-1", {
    DATABASE_URL: testDb.url,
    NATS_URL: TEST_NATS_URL,
    AGG_PREFIX: prefix,
    AGG_CONCURRENCY: "1",
    AGG_MAX_BATCHES_IN_FLIGHT: "1",
    AGG_MAX_USERS_PER_REQUEST: "5",
  });
  client = await ContractClient.connect(prefix);
}, 60_000);

afterAll(async () => {
  await client?.close();
  await engine?.stop();
  await testDb?.drop();
});

it("answers BUSY at once while the limit of running batches is reached, then accepts again", async () => {
  const first = await client.runBatchStart();
  const started = Date.now();
  const second = await client.call("request", {});
  expect(Date.now() - started).toBeLessThan(1_000);
  expect(second).toEqual({
    error: { code: "BUSY", message: expect.stringContaining("AGG_MAX_BATCHES_IN_FLIGHT") },
  });
  await client.waitForFinal(first.batchId as string);
  const third = await client.call("request", { users: [data.users[0]!.id] });
  expect(typeof third.batchId).toBe("string");
});

it("refuses an oversized users list and an oversized payload as BAD_REQUEST", async () => {
  const tooMany = await client.call("request", { users: ["a", "b", "c", "d", "e", "f"] });
  expect(tooMany.error).toMatchObject({ code: "BAD_REQUEST" });
  const huge = await client.call("request", { users: ["x".repeat(900_000)] });
  expect(huge.error).toMatchObject({ code: "BAD_REQUEST" });
});
