/**
 * `agg.inspect`'s scatter-gather with one instance not answering (issue 5):
 * fake instances on `<prefix>.x.inspect.instance` that never reply, or reply
 * garbage, next to a real engine. `agg.inspect` still answers within its
 * deadline, lists the real instance with its actors, and lists an instance
 * that is known alive but silent as `answered: false`; the inspector passes
 * that on unchanged.
 */

import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  ContractClient,
  createTestDatabase,
  type EngineProcess,
  startEngine,
  TEST_NATS_URL,
  type TestDatabase,
  uniquePrefix,
} from "../../../test/support/src/index";
import type { RunningInspector } from "../src/index";
import { getJson, startTestInspector } from "./support";

const prefix = uniquePrefix("gather");
const real = `real-${prefix}`;
let testDb: TestDatabase;
let engine: EngineProcess;
let client: ContractClient;
let inspector: RunningInspector;
let fakes: Awaited<ReturnType<typeof connect>>;
let presenceTimer: NodeJS.Timeout | undefined;

beforeAll(async () => {
  testDb = await createTestDatabase();
  engine = await startEngine(real, { DATABASE_URL: testDb.url, NATS_URL: TEST_NATS_URL, AGG_PREFIX: prefix });
  client = await ContractClient.connect(prefix);
  inspector = await startTestInspector(prefix);
  fakes = await connect({ servers: TEST_NATS_URL.split(",") });
});

afterAll(async () => {
  clearInterval(presenceTimer);
  await fakes?.close();
  await inspector?.close();
  await client?.close();
  await engine?.stop();
  await testDb?.drop();
});

type Reply = { instances: { id: string; answered?: boolean }[]; actors: { instance: string }[] };

async function timedInspect(): Promise<{ reply: Reply; ms: number }> {
  const started = Date.now();
  const reply = (await client.call("inspect", {}, 5_000)) as unknown as Reply;
  return { reply, ms: Date.now() - started };
}

it("an instance that never answers does not hold agg.inspect up", async () => {
  // A responder that swallows every request: a hung instance.
  fakes.subscribe(`${prefix}.x.inspect.instance`, { callback: () => undefined });
  await fakes.flush();
  for (let round = 0; round < 5; round++) {
    const { reply, ms } = await timedInspect();
    expect(ms).toBeLessThan(2_000);
    expect(reply.instances.map((i) => i.id)).toEqual([real]);
    expect(reply.instances[0]?.answered).not.toBe(false);
  }
});

/**
 * Regression (issue 5): the gather used to stop after as many replies as
 * instances were alive, so a malformed reply could stand in for the real
 * instance, which was then listed `answered: false` with no actors.
 */
it("a garbage answer never stands in for a real one", async () => {
  const garbage = fakes.subscribe(`${prefix}.x.inspect.instance`, {
    callback: (_e, m) => {
      m.respond("{garbage");
    },
  });
  await fakes.flush();
  try {
    for (let round = 0; round < 20; round++) {
      const { reply, ms } = await timedInspect();
      expect(ms).toBeLessThan(2_000);
      expect(reply.instances.map((i) => i.id)).toEqual([real]);
      expect(reply.instances[0]?.answered).not.toBe(false);
    }
  } finally {
    garbage.unsubscribe();
  }
});

it("an instance known alive that stays silent is listed as not answering, within the deadline", async () => {
  // The hung instance also announces itself the way engines do, so it is expected to answer.
  const announce = () =>
    fakes.publish(
      `${prefix}.x.presence`,
      JSON.stringify({ id: "ghost", startedAt: new Date().toISOString() }),
    );
  announce();
  presenceTimer = setInterval(announce, 300);
  await new Promise((r) => setTimeout(r, 600));

  const { reply, ms } = await timedInspect();
  expect(ms).toBeLessThan(2_000);
  expect(reply.instances).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ id: real, answered: true }),
      expect.objectContaining({ id: "ghost", answered: false }),
    ]),
  );
  expect(reply.actors.every((a) => a.instance === real)).toBe(true);

  // The inspector's /api/actors is that object, unchanged.
  const { status, body } = await getJson(`${inspector.url}api/actors`);
  expect(status).toBe(200);
  expect((body as unknown as Reply).instances).toEqual(
    expect.arrayContaining([expect.objectContaining({ id: "ghost", answered: false })]),
  );
});
