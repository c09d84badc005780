import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { type AggDatabase, DatabaseUnavailableError, openDatabase } from "@agg/store";
import { createTestPgliteDir, openTestPglite } from "@agg/test-support";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("PGlite dialect", () => {
  let store: AggDatabase;

  beforeAll(async () => {
    store = await openTestPglite();
    await sql`create table t (n int primary key)`.execute(store.db);
  });
  afterAll(async () => {
    await store?.close();
  });

  it("never lets a query into another caller's transaction", async () => {
    let insideStarted!: () => void;
    const started = new Promise<void>((resolve) => {
      insideStarted = resolve;
    });
    const transaction = store.db
      .transaction()
      .execute(async (trx) => {
        await sql`insert into t values (1)`.execute(trx);
        insideStarted();
        await sleep(200);
        throw new Error("roll back");
      })
      .catch((e: Error) => e.message);
    await started;
    // Issued while the transaction is open: it waits for it instead of joining it.
    const [outcome, seen] = await Promise.all([
      transaction,
      sql<{ n: number }>`select count(*)::int as n from t`.execute(store.db),
      sql`insert into t values (2)`.execute(store.db),
    ]);
    expect(outcome).toBe("roll back");
    expect(seen.rows[0]!.n).toBe(0);
    const rows = await store.db
      .selectFrom("t" as never)
      .selectAll()
      .execute();
    expect(rows).toEqual([{ n: 2 }]);
  });

  it("reports affected rows, supports savepoints and streams", async () => {
    const inserted = await sql`insert into t values (10), (11), (12)`.execute(store.db);
    expect(inserted.numAffectedRows).toBe(3n);
    const trx = await store.db.startTransaction().execute();
    const sp = await trx.savepoint("before delete").execute();
    await sql`delete from t`.execute(sp);
    await sp.rollbackToSavepoint("before delete").execute();
    await trx.commit().execute();
    const streamed: unknown[] = [];
    for await (const row of store.db
      .selectFrom("t" as never)
      .select(sql<number>`n`.as("n"))
      .orderBy(sql`n`)
      .stream(2)) {
      streamed.push(row);
    }
    expect(streamed).toEqual([{ n: 2 }, { n: 10 }, { n: 11 }, { n: 12 }]);
  });

  it("attaches the caller's stack to a failing query", async () => {
    const error = await sql`select * from no_such_table`.execute(store.db).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain("no_such_table");
    expect((error as Error).stack).toContain("pglite-dialect.test.ts");
  });

  it("refuses a data directory that is already open", async () => {
    const dataDir = store.location;
    const second = await openDatabase({ dataDir }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(second).toBeInstanceOf(DatabaseUnavailableError);
    expect((second as Error).message).toContain(`in use by process ${process.pid}`);
  });

  it("takes over a lock left by a process that is gone", async () => {
    const { dataDir, remove } = await createTestPgliteDir();
    try {
      for (const stale of [process.pid, 2 ** 22 + 12_345]) {
        // Our own pid, not held here: a container restarted with the same pid. A dead pid: a crash.
        writeFileSync(`${dataDir}.lock`, String(stale));
        const reopened = await openDatabase({ dataDir });
        expect(readFileSync(`${dataDir}.lock`, "utf8")).toBe(String(process.pid));
        await reopened.close();
        expect(existsSync(`${dataDir}.lock`)).toBe(false);
      }
    } finally {
      remove();
    }
  });
});
