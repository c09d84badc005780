/**
 * `pnpm agg grants` (issue 7, item 3): the printed SQL gives an engine role
 * exactly what the engine needs. The real engine runs end to end under such a
 * role on a migrated Wakapi database, and the role can do nothing more.
 */
import { randomBytes } from "node:crypto";
import {
  HEARTBEATS_COVERING_INDEX,
  HEARTBEATS_OVERSIZED_INDEX,
  migrateToLatest,
  openDatabase,
} from "@agg/store";
import {
  ContractClient,
  compareWithReference,
  createTestDatabase,
  type EngineProcess,
  effectiveZone,
  generateDataset,
  insertDataset,
  readStoredSummaries,
  startEngine,
  TEST_DATABASE_BASE_URL,
  TEST_NATS_URL,
  type TestDatabase,
  uniquePrefix,
} from "@agg/test-support";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAgg } from "./run-agg";

/** Runs `fn` with a client connected to `url`, closing it afterwards. */
async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** The SQLSTATE a statement fails with (undefined when it succeeds). */
async function sqlState(client: pg.Client, statement: string): Promise<string | undefined> {
  try {
    await client.query(statement);
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

describe("pnpm agg grants", () => {
  it("refuses a role that is not an SQL identifier, with exit code 2", async () => {
    const run = await runAgg(["grants", "--role", 'agg"; drop table users; --']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain("not a valid SQL identifier");
  });

  describe("the engine under the granted role", () => {
    const role = `agg_t_role_${randomBytes(5).toString("hex")}`;
    const password = randomBytes(12).toString("hex");
    const prefix = uniquePrefix("grants");
    const data = generateDataset({ users: 4, days: 4, seed: 31 });
    const zones = new Map(data.users.map((u) => [u.id, effectiveZone(u.location)]));
    let testDb: TestDatabase;
    let roleUrl: string;
    let grants: string;
    let engine: EngineProcess | undefined;
    let client: ContractClient | undefined;
    let roleCreated = false;

    beforeAll(async () => {
      // As the owner: Wakapi's schema (with its other tables), our migrations, the data.
      testDb = await createTestDatabase({ wakapiFixture: true });
      const store = await openDatabase({ url: testDb.url, poolSize: 1 });
      try {
        await migrateToLatest(store.db);
      } finally {
        await store.close();
      }
      await insertDataset(testDb.url, data);
      // A hardened database: functions are not executable by everyone, so the
      // engine's role can call its function only through the script's grant.
      await withClient(testDb.url, (owner) =>
        owner.query(
          "revoke execute on function agg_replace_user_days(int4, jsonb, jsonb, jsonb, jsonb, jsonb) from public",
        ),
      );

      await withClient(TEST_DATABASE_BASE_URL, (admin) =>
        admin.query(`create role "${role}" login password '${password}'`),
      );
      roleCreated = true;
      const run = await runAgg(["grants", "--role", role]);
      expect(run.code, run.stderr).toBe(0);
      grants = run.stdout;
      await withClient(testDb.url, (owner) => owner.query(grants));
      const url = new URL(testDb.url);
      url.username = role;
      url.password = password;
      roleUrl = url.toString();
    });

    afterAll(async () => {
      await client?.close();
      await engine?.stop();
      if (testDb && roleCreated) {
        await withClient(testDb.url, async (owner) => {
          await owner.query(`reassign owned by "${role}" to current_user`);
          await owner.query(`drop owned by "${role}"`);
        });
      }
      await testDb?.drop();
      if (roleCreated) {
        await withClient(TEST_DATABASE_BASE_URL, (admin) => admin.query(`drop role if exists "${role}"`));
      }
    });

    it("prints a script that can be applied again (idempotent)", async () => {
      await withClient(testDb.url, (owner) => owner.query(grants));
    });

    it("grants exactly the engine's tables, and nothing on Wakapi's others", async () => {
      const granted = await withClient(testDb.url, async (owner) => {
        const { rows } = await owner.query<{ table_name: string; privileges: string }>(
          `select table_name, string_agg(privilege_type, ',' order by privilege_type) as privileges
           from information_schema.role_table_grants
           where grantee = $1 and table_schema = 'public'
           group by table_name`,
          [role],
        );
        return Object.fromEntries(rows.map((r) => [r.table_name, r.privileges]));
      });
      const readWrite = "DELETE,INSERT,SELECT,UPDATE";
      expect(granted).toEqual({
        users: "SELECT",
        heartbeats: "SELECT",
        language_mappings: "SELECT",
        summaries: "DELETE,INSERT,SELECT",
        summary_items: "DELETE,INSERT,SELECT",
        agg_batches: readWrite,
        agg_batch_users: readWrite,
        agg_user_fences: readWrite,
        agg_schedule_runs: readWrite,
        agg_migrations: "SELECT",
        agg_migrations_lock: "SELECT",
      });
      // Every agg_ table the migrations create is covered: a new one must be added to the grants.
      const aggTables = await withClient(testDb.url, async (owner) => {
        const { rows } = await owner.query<{ name: string }>(
          "select tablename as name from pg_tables where schemaname = 'public' and tablename like 'agg\\_%'",
        );
        return rows.map((r) => r.name).sort();
      });
      expect(
        Object.keys(granted)
          .filter((t) => t.startsWith("agg_"))
          .sort(),
      ).toEqual(aggTables);
    });

    it("runs the real engine under the role: a batch completes and writes exact summaries", async () => {
      engine = await startEngine(`grants-${prefix}`, {
        DATABASE_URL: roleUrl,
        NATS_URL: TEST_NATS_URL,
        AGG_PREFIX: prefix,
        AGG_SCHEDULE: "off",
      });
      client = await ContractClient.connect(prefix);
      const users = data.users.map((u) => u.id);
      const { accepted, final } = await client.runBatch({ users });
      expect(final, JSON.stringify(final)).toMatchObject({
        batchId: accepted.batchId,
        state: "completed",
        users: users.length,
        failed: 0,
      });

      const stored = await readStoredSummaries(testDb.url, zones);
      expect(stored.rows).toBeGreaterThan(0);
      expect(stored.duplicates).toEqual([]);
      expect(compareWithReference(data.users, data.heartbeats, stored.days)).toEqual([]);
      // Nothing to migrate under the role, and no error on the way.
      expect(engine.logs.some((l) => l.msg === "migrations applied")).toBe(false);
      expect(engine.logs.filter((l) => Number(l.level) >= 50)).toEqual([]);
      expect(JSON.stringify(engine.logs)).not.toContain(password);
    });

    it("leaves the role unable to touch anything else", async () => {
      await withClient(roleUrl, async (engineRole) => {
        // 42501 insufficient_privilege; dropping needs ownership (also 42501).
        expect(await sqlState(engineRole, "delete from heartbeats")).toBe("42501");
        expect(await sqlState(engineRole, "insert into users (id) values ('intruder')")).toBe("42501");
        expect(await sqlState(engineRole, "update summaries set num_heartbeats = 0")).toBe("42501");
        expect(await sqlState(engineRole, "truncate summaries")).toBe("42501");
        expect(await sqlState(engineRole, "select * from durations limit 1")).toBe("42501");
        expect(await sqlState(engineRole, "select * from key_string_values limit 1")).toBe("42501");
        expect(await sqlState(engineRole, "drop table users")).toBe("42501");
        expect(await sqlState(engineRole, "drop table agg_batches")).toBe("42501");
        expect(await sqlState(engineRole, "alter table summaries add column x int")).toBe("42501");
        expect(await sqlState(engineRole, "create table agg_intruder (x int)")).toBe("42501");
        expect(
          await sqlState(engineRole, "insert into agg_migrations (name, timestamp) values ('x', 'y')"),
        ).toBe("42501");
        // What it needs still works.
        expect(await sqlState(engineRole, "select count(*) from heartbeats")).toBeUndefined();
      });
    });

    it("warns, building nothing, when the heartbeats indexes are missing and the role does not own heartbeats", async () => {
      const migrateAsRole = async () => {
        const store = await openDatabase({ url: roleUrl, poolSize: 1 });
        try {
          return (await migrateToLatest(store.db)).warnings;
        } finally {
          await store.close();
        }
      };
      try {
        await withClient(testDb.url, (owner) => owner.query(`drop index ${HEARTBEATS_OVERSIZED_INDEX}`));
        const one = await migrateAsRole();
        expect(one).toHaveLength(1);
        expect(one[0]).toContain(`${HEARTBEATS_OVERSIZED_INDEX} is missing`);
        expect(one[0]).toContain("as the owner to create it");
        await withClient(testDb.url, (owner) => owner.query(`drop index ${HEARTBEATS_COVERING_INDEX}`));
        const both = await migrateAsRole();
        expect(both).toHaveLength(1);
        expect(both[0]).toContain(
          `${HEARTBEATS_OVERSIZED_INDEX} and ${HEARTBEATS_COVERING_INDEX} are missing`,
        );
        expect(both[0]).toContain("as the owner to create them");
        await withClient(testDb.url, async (owner) => {
          const { rows } = await owner.query<{ n: number }>(
            "select count(*)::int as n from pg_indexes where indexname in ($1, $2)",
            [HEARTBEATS_COVERING_INDEX, HEARTBEATS_OVERSIZED_INDEX],
          );
          expect(rows[0]?.n).toBe(0);
        });
      } finally {
        // As the owner, as before: the indexes again.
        const store = await openDatabase({ url: testDb.url, poolSize: 1 });
        try {
          expect((await migrateToLatest(store.db)).warnings).toEqual([]);
        } finally {
          await store.close();
        }
      }
    });
  });
});
