import { type AggDatabase, openDatabase } from "@agg/store";
import { createTestPgliteDir, openTestPglite, openTestPostgres } from "@agg/test-support";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { ConnectionMutex } from "../src/dialect/connection-mutex";

/** A promise with its resolver, to hold a connection until the test lets go. */
function gate(): { opened: Promise<void>; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

/**
 * Fills `store.db` with `connections` transactions that wait for `g`, and
 * resolves once every one of them holds its connection (`done`: when they end).
 */
async function occupyDataLane(
  store: AggDatabase,
  connections: number,
  g: { opened: Promise<void> },
): Promise<{ done: Promise<unknown> }> {
  const holding: Promise<void>[] = [];
  let started = 0;
  const allStarted = new Promise<void>((resolve) => {
    for (let i = 0; i < connections; i++) {
      holding.push(
        store.db.transaction().execute(async (trx) => {
          await sql`select 1`.execute(trx);
          if (++started === connections) resolve();
          await g.opened;
        }),
      );
    }
  });
  await allStarted;
  return { done: Promise.all(holding) };
}

describe("the control lane", () => {
  it("PostgreSQL: a control statement runs while every data connection is taken and more data work waits", async () => {
    const store = await openTestPostgres({ poolSize: 2 });
    const g = gate();
    try {
      const held = await occupyDataLane(store, 2, g);
      const order: string[] = [];
      const queued = sql`select 1`.execute(store.db).then(() => order.push("data"));
      await sql`select 1`.execute(store.control).then(() => order.push("control"));
      expect(order).toEqual(["control"]);
      g.open();
      await Promise.all([held.done, queued]);
      expect(order).toEqual(["control", "data"]);
    } finally {
      g.open();
      await store.close();
    }
  });

  it("PGlite: a control statement gets the one session before data work that queued earlier", async () => {
    const store = await openTestPglite();
    const g = gate();
    try {
      const held = await occupyDataLane(store, 1, g);
      const order: string[] = [];
      const first = sql`select 1`.execute(store.db).then(() => order.push("data 1"));
      const second = sql`select 2`.execute(store.db).then(() => order.push("data 2"));
      const control = sql`select 3`.execute(store.control).then(() => order.push("control"));
      await new Promise((r) => setTimeout(r, 50));
      // One session: nothing runs while the transaction holds it.
      expect(order).toEqual([]);
      g.open();
      await Promise.all([held.done, first, second, control]);
      expect(order).toEqual(["control", "data 1", "data 2"]);
    } finally {
      g.open();
      await store.close();
    }
  });

  it("PGlite: closing a store whose two lanes were used frees its directory for the next opener", async () => {
    const dir = await createTestPgliteDir();
    try {
      const first = await openDatabase({ dataDir: dir.dataDir });
      await sql`create table t (x int)`.execute(first.db);
      await sql`insert into t values (1)`.execute(first.control);
      await first.close();
      const second = await openDatabase({ dataDir: dir.dataDir });
      try {
        const { rows } = await sql<{ x: number }>`select x from t`.execute(second.db);
        expect(rows).toEqual([{ x: 1 }]);
      } finally {
        await second.close();
      }
    } finally {
      dir.remove();
    }
  });
});

describe("ConnectionMutex", () => {
  it("hands the lock to urgent waiters first, each lane in arrival order", async () => {
    const mutex = new ConnectionMutex();
    await mutex.lock();
    const order: string[] = [];
    const waiters = [
      mutex.lock().then(() => order.push("ordinary 1")),
      mutex.lock(true).then(() => order.push("urgent 1")),
      mutex.lock().then(() => order.push("ordinary 2")),
      mutex.lock(true).then(() => order.push("urgent 2")),
    ];
    for (let i = 0; i < waiters.length; i++) {
      mutex.unlock();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(waiters);
    expect(order).toEqual(["urgent 1", "urgent 2", "ordinary 1", "ordinary 2"]);
  });

  it("is free again once the last holder unlocks", async () => {
    const mutex = new ConnectionMutex();
    await mutex.lock();
    const next = mutex.lock();
    mutex.unlock();
    await next;
    mutex.unlock();
    let got = false;
    void mutex.lock().then(() => {
      got = true;
    });
    await Promise.resolve();
    expect(got).toBe(true);
  });
});
