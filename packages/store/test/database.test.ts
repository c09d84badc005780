import { DatabaseUnavailableError, openDatabase, parseDatabaseUrl, redactDatabaseUrl } from "@agg/store";
import { createTestDatabase } from "@agg/test-support";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";

async function openError(url: string): Promise<DatabaseUnavailableError> {
  const error = await openDatabase({ url, connectTimeoutMs: 3000 }).then(
    async (store) => {
      await store.close();
      return null;
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DatabaseUnavailableError);
  return error as DatabaseUnavailableError;
}

describe("openDatabase", () => {
  it("keeps an idle connection with keepConnections, where the default pool closes it after 10 s", async () => {
    const testDb = await createTestDatabase();
    const kept = await openDatabase({ url: testDb.url, poolSize: 1, keepConnections: true });
    const plain = await openDatabase({ url: testDb.url, poolSize: 1 });
    try {
      const pid = async (store: typeof kept) =>
        (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(store.db)).rows[0]!.pid;
      const [keptBefore, plainBefore] = [await pid(kept), await pid(plain)];
      await new Promise((r) => setTimeout(r, 11_000));
      expect(await pid(kept)).toBe(keptBefore);
      expect(await pid(plain)).not.toBe(plainBefore);
    } finally {
      await kept.close();
      await plain.close();
      await testDb.drop();
    }
  }, 30_000);

  it("names host:port of an unreachable server, never the password", async () => {
    const error = await openError("postgres://postgres:hunter2@127.0.0.1:1/x");
    expect(error.code).toBe("UNAVAILABLE");
    expect(error.message).toContain("127.0.0.1:1/x");
    expect(error.message).toContain("ECONNREFUSED");
    expect(error.message).not.toContain("hunter2");
    expect(String(error.stack)).not.toContain("hunter2");
  });

  it("refuses a malformed URL without echoing the password", async () => {
    for (const url of ["not a url", "mysql://root:hunter2@db/x", "postgres://u:hunter2@host:99999/x"]) {
      const error = await openError(url);
      expect(error.code).toBe("UNAVAILABLE");
      expect(error.message).toMatch(/malformed database URL/);
      expect(error.message).not.toContain("hunter2");
    }
  });

  it("reports a database that does not exist as unavailable", async () => {
    const base = new URL(process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres");
    base.pathname = "/agg_t_does_not_exist";
    const error = await openError(base.toString());
    expect(error.message).toContain("agg_t_does_not_exist");
  });

  it("opens PostgreSQL and reads bigint as number", async () => {
    const testDb = await createTestDatabase();
    try {
      const store = await openDatabase({ url: testDb.url });
      try {
        expect(store.kind).toBe("postgres");
        const { rows } = await (await import("kysely")).sql<{
          small: unknown;
          huge: unknown;
          at: unknown;
        }>`select 42::int8 as small, 9007199254740993::int8 as huge, now() as at`.execute(store.db);
        expect(rows[0]).toMatchObject({ small: 42, huge: 9007199254740993n });
        expect(rows[0]!.at).toBeInstanceOf(Date);
      } finally {
        await store.close();
      }
    } finally {
      await testDb.drop();
    }
  });
});

describe("database URLs", () => {
  it("parses the address and redacts passwords", () => {
    expect(parseDatabaseUrl("postgres://app:pw@db.example:6543/wakapi")).toEqual({
      host: "db.example",
      port: 6543,
      database: "wakapi",
      user: "app",
    });
    expect(parseDatabaseUrl("postgresql://app@db").port).toBe(5432);
    expect(redactDatabaseUrl("postgres://app:s3:cr@t@db:5432/w")).toBe("postgres://app:***@db:5432/w");
    expect(redactDatabaseUrl("postgres://db/w?user=a&password=s3cret&x=1")).toBe(
      "postgres://db/w?user=a&password=***&x=1",
    );
    expect(redactDatabaseUrl("postgres://app@db/w")).toBe("postgres://app@db/w");
  });
});
