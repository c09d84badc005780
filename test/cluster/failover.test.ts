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

const prefix = uniquePrefix("failover");
const data = generateDataset({ users: 240, days: 30, seed: 23, perDay: 60 });
const zones = new Map(data.users.map((u) => [u.id, effectiveZone(u.location)]));
let testDb: TestDatabase;
const engines: EngineProcess[] = [];
let client: ContractClient;

beforeAll(async () => {
  testDb = await createSeededDatabase(data);
  client = await ContractClient.connect(prefix);
  const env = {
    DATABASE_URL: testDb.url,
    NATS_URL: TEST_NATS_URL,
    AGG_PREFIX: prefix,
    AGG_CONCURRENCY: "1",
    AGG_ACK_WAIT_MS: "2000",
    AGG_LEASE_TTL_MS: "2000",
    AGG_PASSIVATE_AFTER_MS: "200",
  };
  engines.push(...(await Promise.all(["fo-a", "fo-b", "fo-c"].map((name) => startEngine(name, env)))));
}, 120_000);

afterAll(async () => {
  await client?.close();
  for (const e of engines) await e.stop(5_000);
  await testDb?.drop();
});

interface Sample {
  at: number;
  actors: { instance: string; machine: string; userId?: string; state: string }[];
}

it("survives SIGKILL at 20 % and SIGTERM at 50 %: exact, none doubled", { timeout: 180_000 }, async () => {
  const events: Record<string, unknown>[] = [];
  const sub = client.nc.subscribe(`${prefix}.batch.*`, {
    callback: (_e, m) => {
      events.push(m.json());
    },
  });
  const samples: Sample[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      try {
        const reply = await client.call("inspect", {}, 2_000);
        samples.push({ at: Date.now(), actors: reply.actors as Sample["actors"] });
      } catch {
        // an instance being killed may make one sample fail; the next one counts
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();

  const accepted = await client.call("request", {});
  const batchId = accepted.batchId as string;
  const users = accepted.users as number;
  // The ledger's counts (agg.status), polled: progress events come every 250 ms,
  // in which a fast batch can go from under half to done.
  let lastProgress = 0;
  const progress = () => lastProgress;
  const pollProgress = async () => {
    try {
      const status = await client.call("status", { batchId });
      lastProgress =
        ((status.done as number) + (status.failed as number) + (status.skipped as number)) / users;
    } catch {
      // an instance being stopped may drop one request; the next poll counts
    }
    return lastProgress;
  };
  const waitFor = async (fraction: number) => {
    const deadline = Date.now() + 60_000;
    while ((await pollProgress()) < fraction && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  /** The instance (of those still alive) that is working on a user right now, if any. */
  const busyInstance = (alive: EngineProcess[]) => {
    const latest = samples.at(-1)?.actors ?? [];
    return (
      alive.find((e) => latest.some((a) => a.instance === e.name && a.machine === "userAggregator")) ??
      alive[0]!
    );
  };

  await waitFor(0.2);
  const killed = busyInstance(engines);
  killed.signal("SIGKILL");
  expect(await killed.exited).toBe("SIGKILL");
  const progressAtKill = progress();

  await waitFor(0.5);
  const terminated = busyInstance(engines.filter((e) => e !== killed));
  const termCode = terminated.stop(30_000);
  const progressAtTerm = progress();

  const deadline = Date.now() + 120_000;
  while (!events.some((e) => e.type === "final" && e.batchId === batchId) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(await termCode).toBe(0);
  sampling = false;
  await sampler;
  await new Promise((r) => setTimeout(r, 500));
  sub.unsubscribe();

  // Both interruptions really happened mid-batch.
  expect(progressAtKill).toBeLessThan(1);
  expect(progressAtTerm).toBeLessThan(1);

  const finals = events.filter((e) => e.type === "final" && e.batchId === batchId);
  expect(finals).toHaveLength(1);
  expect(finals[0]).toMatchObject({ state: "completed", users, failed: 0 });

  const stored = await readStoredSummaries(testDb.url, zones);
  expect(stored.duplicates).toEqual([]);
  expect(compareWithReference(data.users, data.heartbeats, stored.days)).toEqual([]);

  // Single writer, as the cluster itself reports it.
  expect(samples.length).toBeGreaterThan(3);
  for (const s of samples) {
    const owners = new Map<string, string>();
    for (const a of s.actors) {
      if (a.machine !== "userAggregator" || !a.userId) continue;
      const other = owners.get(a.userId);
      expect(other === undefined || other === a.instance, `${a.userId} on ${other} and ${a.instance}`).toBe(
        true,
      );
      owners.set(a.userId, a.instance);
    }
  }
});
