/**
 * Inspection on demand (`AGG_INSPECT=on`, the default): a real engine
 * publishes no inspection events while nobody inspects the cluster, starts
 * with the first `agg.inspect` (the inspector and `agg inspect --watch` ask
 * every second or faster), and stops `AGG_INSPECT_WATCH_MS` after the last.
 */
import {
  ContractClient,
  createSeededDatabase,
  type EngineProcess,
  freePorts,
  generateDataset,
  startEngine,
  TEST_NATS_URL,
  type TestDatabase,
  uniquePrefix,
} from "@agg/test-support";
import { afterAll, beforeAll, expect, it } from "vitest";

const prefix = uniquePrefix("inspdemand");
const data = generateDataset({ users: 4, days: 3, seed: 11 });
const WATCH_MS = 5_000;
/**
 * Before counting: a user actor stops 250 ms after its job (passivation) and
 * the publisher flushes every 250 ms; the rest is margin for a busy machine.
 */
const SETTLE_MS = 1_500;
let testDb: TestDatabase;
let engine: EngineProcess;
let client: ContractClient;
let metricsUrl: string;
/** Every inspection record received, with the machine it is about. */
const records: { type: string; machine: string }[] = [];

beforeAll(async () => {
  testDb = await createSeededDatabase(data);
  const [port] = await freePorts(1);
  metricsUrl = `http://127.0.0.1:${port}/metrics`;
  engine = await startEngine("inspdemand-1", {
    METRICS_PORT: String(port),
    DATABASE_URL: testDb.url,
    NATS_URL: TEST_NATS_URL,
    AGG_PREFIX: prefix,
    AGG_INSPECT_WATCH_MS: String(WATCH_MS),
  });
  client = await ContractClient.connect(prefix);
  client.nc.subscribe(`${prefix}.x.inspect.events.*`, {
    callback: (_err, m) => {
      const batch = m.json<{ events: { type: string; machine?: string; actor?: { machine: string } }[] }>();
      for (const e of batch.events)
        records.push({ type: e.type, machine: e.machine ?? e.actor?.machine ?? "" });
    },
  });
  await client.nc.flush();
});

afterAll(async () => {
  await client?.close();
  await engine?.stop();
  await testDb?.drop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `agg_inspection_watched` as the engine's /metrics says it now. */
async function watchedGauge(): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const line = text.split("\n").find((l) => l.startsWith("agg_inspection_watched "));
  return Number(line?.split(" ")[1]);
}

async function regenerate(): Promise<void> {
  const { final } = await client.runBatch({ mode: "regenerate" });
  expect(final.state).toBe("completed");
  await sleep(SETTLE_MS);
}

it("publishes inspection events only while somebody inspects", async () => {
  await regenerate();
  expect(records).toEqual([]);
  expect(await watchedGauge()).toBe(0);

  const view = await client.call("inspect", {});
  expect(Array.isArray(view.actors)).toBe(true);
  expect(await watchedGauge()).toBe(1);
  await regenerate();
  const machines = new Set(records.map((r) => r.machine));
  expect(machines).toEqual(new Set(["userAggregator", "batchCoordinator"]));
  expect(records.filter((r) => r.type === "actor.stopped" && r.machine === "userAggregator").length).toBe(
    data.users.length,
  );

  // No agg.inspect for longer than the watch: the actors are detached again.
  await sleep(WATCH_MS + 500);
  expect(await watchedGauge()).toBe(0);
  records.length = 0;
  await regenerate();
  expect(records).toEqual([]);
}, 60_000);
