/**
 * Poison messages on the engine's internal subjects are never retried forever:
 * they are terminated, dead-lettered (kept in the <PREFIX>_DEAD stream with their
 * subject and a reason) and the batch they interrupted still completes.
 */

import { createSubjects } from "@agg/protocol";
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
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, expect, it } from "vitest";

const prefix = uniquePrefix("poison");
const subjects = createSubjects(prefix);
const data = generateDataset({ users: 10, days: 5, seed: 3, perDay: 30 });
let testDb: TestDatabase;
let engine: EngineProcess;
let client: ContractClient;

beforeAll(async () => {
  testDb = await createSeededDatabase(data);
  engine = await startEngine("poison-1", {
    DATABASE_URL: testDb.url,
    NATS_URL: TEST_NATS_URL,
    AGG_PREFIX: prefix,
  });
  client = await ContractClient.connect(prefix);
}, 60_000);

afterAll(async () => {
  await client?.close();
  await engine?.stop();
  await testDb?.drop();
});

it("dead-letters a malformed job and a malformed report; the batch completes", {
  timeout: 60_000,
}, async () => {
  const js = jetstream(client.nc);
  const events: Record<string, unknown>[] = [];
  const sub = client.nc.subscribe(`${prefix}.batch.*`, {
    callback: (_e, m) => {
      events.push(m.json());
    },
  });
  const accepted = await client.call("request", {});
  // Poison on the job stream (not JSON) and on the report subject (wrong shape).
  await js.publish(subjects.jobs("poison"), new Uint8Array([0xde, 0xad, 0xbe, 0xef]));
  await js.publish(subjects.jobs("poison2"), JSON.stringify({ batchId: "x", userId: 42 }));
  client.nc.publish(
    subjects.report(accepted.batchId as string),
    JSON.stringify({ userId: ["not", "a", "user"] }),
  );

  const deadline = Date.now() + 30_000;
  while (!events.some((e) => e.type === "final") && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
  sub.unsubscribe();
  expect(events.find((e) => e.type === "final")).toMatchObject({
    state: "completed",
    users: data.users.length,
  });

  const jsm = await jetstreamManager(client.nc);
  let dead = 0;
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    dead = (await jsm.streams.info(subjects.names.deadLetterStream)).state.messages;
    if (dead >= 3) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(dead).toBe(3);
  const letters = [];
  for (let seq = 1; seq <= dead; seq++) {
    const m = await jsm.streams.getMessage(subjects.names.deadLetterStream, { seq });
    letters.push(m!.json<{ subject: string; reason: string }>());
  }
  expect(letters.map((l) => l.subject).sort()).toEqual(
    [subjects.jobs("poison"), subjects.jobs("poison2"), subjects.report(accepted.batchId as string)].sort(),
  );
  expect(letters.every((l) => l.reason.length > 0)).toBe(true);
  // Nothing is left pending or unacknowledged on the job stream.
  let outstanding = -1;
  const settle = Date.now() + 10_000;
  while (Date.now() < settle) {
    const info = await jsm.consumers.info(subjects.names.jobsStream, subjects.names.jobsConsumer);
    outstanding = info.num_pending + info.num_ack_pending;
    if (outstanding === 0) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(outstanding).toBe(0);
  expect(engine.child.exitCode).toBeNull();
});
