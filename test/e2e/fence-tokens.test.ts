/**
 * Regression (found by the benchmark, issue 6): fencing tokens used to be the
 * lease bucket's revisions, so a new bucket (another AGG_PREFIX on the same
 * database, or lost JetStream storage) handed out tokens below the stored ones
 * and fenced every writer out. Tokens now come from the database and only grow.
 */

import { openDatabase } from "@agg/store";
import {
  ContractClient,
  createSeededDatabase,
  generateDataset,
  startEngine,
  TEST_NATS_URL,
  type TestDatabase,
  uniquePrefix,
} from "@agg/test-support";
import { afterAll, beforeAll, expect, it } from "vitest";

const data = generateDataset({ users: 4, days: 3, seed: 9, perDay: 20 });
let testDb: TestDatabase;

beforeAll(async () => {
  testDb = await createSeededDatabase(data);
  // An earlier, long-lived cluster on this database left large tokens behind.
  const store = await openDatabase({ url: testDb.url, poolSize: 1 });
  await store.db
    .insertInto("agg_user_fences")
    .values(data.users.map((u) => ({ user_id: u.id, token: 1_000_000, holder: "an-earlier-cluster" })))
    .execute();
  await store.close();
});

afterAll(() => testDb?.drop());

it("a second cluster (new prefix, new lease bucket) on the same database still writes", {
  timeout: 90_000,
}, async () => {
  for (const label of ["first", "second"]) {
    const prefix = uniquePrefix(label);
    const engine = await startEngine(`fence-${label}`, {
      DATABASE_URL: testDb.url,
      NATS_URL: TEST_NATS_URL,
      AGG_PREFIX: prefix,
    });
    const client = await ContractClient.connect(prefix);
    try {
      const { final } = await client.runBatch({ mode: "regenerate" }, 30_000);
      expect(final).toMatchObject({ state: "completed", failed: 0, users: data.users.length });
      expect(engine.logs.filter((l) => l.msg === "fenced out; handing the job back")).toEqual([]);
    } finally {
      await client.close();
      expect(await engine.stop()).toBe(0);
    }
  }
});
