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

const prefix = uniquePrefix("fencing");
// One heavy user: a year of data, so its aggregation spans many writes.
const data = generateDataset({ users: 1, days: 400, seed: 5, perDay: 120 });
const user = data.users[0]!;
user.location = "UTC";
const zones = new Map([[user.id, effectiveZone(user.location)]]);
let testDb: TestDatabase;
const engines: EngineProcess[] = [];
let client: ContractClient;

const env = () => ({
  DATABASE_URL: testDb.url,
  NATS_URL: TEST_NATS_URL,
  AGG_PREFIX: prefix,
  AGG_CONCURRENCY: "1",
  AGG_ACK_WAIT_MS: "1500",
  AGG_LEASE_TTL_MS: "1500",
});

beforeAll(async () => {
  testDb = await createSeededDatabase(data);
  client = await ContractClient.connect(prefix);
}, 120_000);

afterAll(async () => {
  await client?.close();
  for (const e of engines) {
    e.signal("SIGCONT");
    await e.stop(5_000);
  }
  await testDb?.drop();
});

it("a paused instance that lost its lease writes nothing after it resumes", {
  timeout: 120_000,
}, async () => {
  const paused = await startEngine("fence-a", env());
  engines.push(paused);
  const events: Record<string, unknown>[] = [];
  const sub = client.nc.subscribe(`${prefix}.batch.*`, {
    callback: (_e, m) => {
      events.push(m.json());
    },
  });
  const accepted = await client.call("request", { users: [user.id], mode: "regenerate" });

  // Freeze A right after its first write for the user.
  await paused.waitForLog((l) => l.msg === "days written" && l.userId === user.id, 30_000);
  paused.signal("SIGSTOP");
  const logsAtPause = paused.logs.length;

  // B takes over once A's lease and ack wait lapse, and finishes the batch.
  const other = await startEngine("fence-b", env());
  engines.push(other);
  const deadline = Date.now() + 60_000;
  while (!events.some((e) => e.type === "final" && e.batchId === accepted.batchId) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(events.find((e) => e.type === "final")).toMatchObject({ state: "completed", failed: 0 });
  expect(other.logs.some((l) => l.msg === "days written" && l.userId === user.id)).toBe(true);
  const afterB = await readStoredSummaries(testDb.url, zones);

  // A resumes: it must notice the lost lease and hand the job back, writing nothing.
  paused.signal("SIGCONT");
  await paused.waitForLog(
    (l) =>
      (l.msg === "fenced out; handing the job back" || l.msg === "lease lost") &&
      paused.logs.indexOf(l) >= logsAtPause,
    20_000,
  );
  await new Promise((r) => setTimeout(r, 1_500));
  const writesAfterResume = paused.logs.slice(logsAtPause).filter((l) => l.msg === "days written");
  expect(writesAfterResume).toEqual([]);
  sub.unsubscribe();

  const stored = await readStoredSummaries(testDb.url, zones);
  expect(stored.duplicates).toEqual([]);
  // Nothing changed since B finished: same rows (ids included would differ on any rewrite).
  expect([...stored.days.keys()].sort()).toEqual([...afterB.days.keys()].sort());
  expect(compareWithReference(data.users, data.heartbeats, stored.days)).toEqual([]);
});
