import {
  ContractClient,
  compareWithReference,
  createSeededDatabase,
  type EngineProcess,
  effectiveZone,
  generateDataset,
  readStoredSummaries,
  seededRandom,
  startEngine,
  TEST_NATS_URL,
  type TestDatabase,
  uniquePrefix,
} from "@agg/test-support";
import { afterAll, beforeAll, expect, it } from "vitest";

const seed = Number(process.env.CHAOS_SEED ?? 20261127);
const prefix = uniquePrefix("chaos");
const data = generateDataset({ users: 120, days: 20, seed, perDay: 50 });
const zones = new Map(data.users.map((u) => [u.id, effectiveZone(u.location)]));
let testDb: TestDatabase;
const names = ["chaos-a", "chaos-b", "chaos-c"];
const running = new Map<string, EngineProcess>();
const all: EngineProcess[] = [];
let client: ContractClient;
let env: Record<string, string>;

beforeAll(async () => {
  testDb = await createSeededDatabase(data);
  client = await ContractClient.connect(prefix);
  env = {
    DATABASE_URL: testDb.url,
    NATS_URL: TEST_NATS_URL,
    AGG_PREFIX: prefix,
    AGG_CONCURRENCY: "2",
    AGG_ACK_WAIT_MS: "1500",
    AGG_LEASE_TTL_MS: "1500",
    AGG_PASSIVATE_AFTER_MS: "200",
    AGG_MAX_DELIVER: "50",
  };
  for (const name of names) running.set(name, await start(name));
}, 120_000);

afterAll(async () => {
  await client?.close();
  for (const e of all) await e.stop(5_000);
  await testDb?.drop();
});

async function start(name: string): Promise<EngineProcess> {
  const e = await startEngine(name, env);
  all.push(e);
  return e;
}

it(`random kills and restarts during several batches keep every invariant (seed ${seed})`, {
  timeout: 240_000,
}, async () => {
  const rnd = seededRandom(seed);
  const batchIds: string[] = [];
  const requests = [
    {},
    { mode: "regenerate" },
    { mode: "regenerate", users: data.users.slice(0, 40).map((u) => u.id) },
  ];
  let chaos = true;
  let kills = 0;
  const chaosLoop = (async () => {
    while (chaos) {
      await new Promise((r) => setTimeout(r, 800 + rnd() * 1_500));
      if (!chaos) break;
      const name = names[Math.floor(rnd() * names.length)]!;
      const victim = running.get(name);
      if (!victim || running.size <= 1) continue;
      running.delete(name);
      kills++;
      if (rnd() < 0.5) {
        victim.signal("SIGKILL");
        await victim.exited;
      } else {
        expect(await victim.stop(30_000)).toBe(0);
      }
      await new Promise((r) => setTimeout(r, 300 + rnd() * 1_000));
      running.set(name, await start(name));
    }
  })();

  for (const request of requests) {
    for (let attempt = 0; ; attempt++) {
      // A request may land on an instance that is just stopping: it then says UNAVAILABLE, and we retry.
      const reply: Record<string, unknown> = await client
        .call("request", request, 5_000)
        .catch((err) => ({ error: String(err) }));
      if (typeof reply.batchId === "string") {
        batchIds.push(reply.batchId);
        break;
      }
      if (attempt > 20) throw new Error(`request never accepted: ${JSON.stringify(reply)}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    await new Promise((r) => setTimeout(r, 1_500 + rnd() * 2_000));
  }
  await new Promise((r) => setTimeout(r, 4_000));
  // At least two kills, however fast the batches went (a kill cycle includes a
  // graceful drain or a restart, which take longer on a loaded machine).
  const killsDeadline = Date.now() + 60_000;
  while (kills < 2 && Date.now() < killsDeadline) await new Promise((r) => setTimeout(r, 200));
  chaos = false;
  await chaosLoop;
  expect(kills).toBeGreaterThan(1);

  // Every batch reaches a terminal state once the cluster is left alone.
  const deadline = Date.now() + 120_000;
  const states = new Map<string, Record<string, unknown>>();
  while (Date.now() < deadline && states.size < batchIds.length) {
    for (const id of batchIds) {
      if (states.has(id)) continue;
      const s = await client
        .call("status", { batchId: id }, 3_000)
        .catch(() => ({}) as Record<string, unknown>);
      if (s.state && s.state !== "running") states.set(id, s);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  expect([...states.values()].map((s) => s.state)).toEqual(batchIds.map(() => "completed"));

  const stored = await readStoredSummaries(testDb.url, zones);
  expect(stored.duplicates).toEqual([]);
  expect(compareWithReference(data.users, data.heartbeats, stored.days)).toEqual([]);
});
