import {
  type AggDatabase,
  type Database,
  HEARTBEATS_COVERING_INDEX,
  HEARTBEATS_OVERSIZED_INDEX,
  MIGRATIONS,
  migrateToLatest,
  openDatabase,
  SUMMARY_UNIQUE_INDEX,
} from "@agg/store";
import { createTestDatabase, openTestPglite, type TestDatabase } from "@agg/test-support";
import { CompiledQuery, type Kysely, sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { fitsCoveringIndex, oversizedForCoveringIndex } from "../src/repository/covering-index-fit";
import { dayDurationsSql } from "../src/repository/day-durations-sql";

const WAKAPI_TABLES = ["users", "heartbeats", "durations", "summaries", "summary_items", "language_mappings"];
const ALL_MIGRATIONS = Object.keys(MIGRATIONS);

/** information_schema.columns of the given tables: everything that describes a column. */
async function columnSnapshot(db: Kysely<Database>, tables: readonly string[]) {
  const { rows } = await sql<Record<string, unknown>>`
    select table_name, column_name, ordinal_position, data_type, character_maximum_length,
           datetime_precision, is_nullable, column_default
    from information_schema.columns
    where table_schema = current_schema() and table_name = any(${sql.lit(`{${tables.join(",")}}`)}::text[])
    order by table_name, ordinal_position`.execute(db);
  return rows;
}

async function indexNames(db: Kysely<Database>): Promise<string[]> {
  const { rows } = await sql<{ indexname: string }>`
    select indexname from pg_indexes where schemaname = current_schema() order by indexname`.execute(db);
  return rows.map((r) => r.indexname);
}

async function tableNames(db: Kysely<Database>): Promise<string[]> {
  const { rows } = await sql<{ table_name: string }>`
    select table_name from information_schema.tables
    where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`.execute(db);
  return rows.map((r) => r.table_name);
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function postgres(
  opts: { wakapiFixture?: boolean } = {},
): Promise<{ store: AggDatabase; testDb: TestDatabase }> {
  const testDb = await createTestDatabase(opts);
  cleanups.push(() => testDb.drop());
  const store = await openDatabase({ url: testDb.url });
  cleanups.push(() => store.close());
  return { store, testDb };
}

describe("migrateToLatest", () => {
  it("creates Wakapi's core tables and the agg_ tables on an empty database, then is a no-op", async () => {
    const { store } = await postgres();
    const first = await migrateToLatest(store.db);
    expect(first).toEqual({ applied: ALL_MIGRATIONS, duplicateSummaries: [], warnings: [] });
    expect(await tableNames(store.db)).toEqual([
      "agg_batch_users",
      "agg_batches",
      "agg_migrations",
      "agg_migrations_lock",
      "agg_schedule_runs",
      "agg_user_fences",
      "heartbeats",
      "language_mappings",
      "summaries",
      "summary_items",
      "users",
    ]);
    expect(await indexNames(store.db)).toEqual(
      expect.arrayContaining([
        HEARTBEATS_COVERING_INDEX,
        HEARTBEATS_OVERSIZED_INDEX,
        "agg_summary_items_summary_id_idx",
        SUMMARY_UNIQUE_INDEX,
        "agg_batch_users_batch_status_idx",
        "agg_batch_users_pk",
        "idx_heartbeats_hash",
      ]),
    );
    // 0005: the per-user lease's end, nullable (a fence row without a lease reads as "not held").
    expect(
      (await columnSnapshot(store.db, ["agg_user_fences"])).map((c) => [
        c.column_name,
        c.data_type,
        c.is_nullable,
      ]),
    ).toEqual([
      ["user_id", "text", "NO"],
      ["token", "bigint", "NO"],
      ["holder", "text", "NO"],
      ["updated_at", "timestamp with time zone", "NO"],
      ["lease_until", "timestamp with time zone", "YES"],
    ]);
    const columns = await columnSnapshot(store.db, WAKAPI_TABLES);
    const indexes = await indexNames(store.db);
    expect(await migrateToLatest(store.db)).toEqual({ applied: [], duplicateSummaries: [], warnings: [] });
    expect(await columnSnapshot(store.db, WAKAPI_TABLES)).toEqual(columns);
    expect(await indexNames(store.db)).toEqual(indexes);
  });

  it("leaves every column of an existing Wakapi database as it was", async () => {
    const { store } = await postgres({ wakapiFixture: true });
    const before = await columnSnapshot(store.db, WAKAPI_TABLES);
    const indexesBefore = await indexNames(store.db);
    expect(before.length).toBeGreaterThan(60);

    const report = await migrateToLatest(store.db);
    expect(report).toEqual({ applied: ALL_MIGRATIONS, duplicateSummaries: [], warnings: [] });
    // The fixture has every column we need: nothing added, nothing altered.
    expect(await columnSnapshot(store.db, WAKAPI_TABLES)).toEqual(before);
    // Wakapi's indexes all stay; ours come on top.
    const indexesAfter = await indexNames(store.db);
    expect(indexesAfter).toEqual(expect.arrayContaining(indexesBefore));
    expect(indexesAfter.filter((i) => !indexesBefore.includes(i))).toEqual(
      expect.arrayContaining([
        HEARTBEATS_COVERING_INDEX,
        HEARTBEATS_OVERSIZED_INDEX,
        "agg_summary_items_summary_id_idx",
        SUMMARY_UNIQUE_INDEX,
      ]),
    );
    // idx_time_summary_user already serves (user_id, from_time) range scans: no fallback index.
    expect(indexesAfter).not.toContain("agg_summaries_user_from_idx");

    expect(await migrateToLatest(store.db)).toEqual({ applied: [], duplicateSummaries: [], warnings: [] });
    expect(await columnSnapshot(store.db, WAKAPI_TABLES)).toEqual(before);
  });

  it("adds only the columns an older Wakapi table lacks", async () => {
    const { store } = await postgres({ wakapiFixture: true });
    await sql`alter table heartbeats drop column ai_model`.execute(store.db);
    await sql`alter table users drop column exclude_unknown_projects`.execute(store.db);
    const before = await columnSnapshot(store.db, WAKAPI_TABLES);

    await migrateToLatest(store.db);
    const after = await columnSnapshot(store.db, WAKAPI_TABLES);
    const key = (c: Record<string, unknown>) => `${c.table_name}.${c.column_name}`;
    const added = after.filter((c) => !before.some((b) => key(b) === key(c)));
    expect(added.map(key).sort()).toEqual(["heartbeats.ai_model", "users.exclude_unknown_projects"]);
    expect(added.every((c) => c.is_nullable === "YES" && c.column_default === null)).toBe(true);
    // Every column that existed is described exactly as before.
    expect(after.filter((c) => before.some((b) => key(b) === key(c)))).toEqual(before);
  });

  it("reports duplicate summaries instead of failing, and adds the unique index once they are gone", async () => {
    const { store } = await postgres({ wakapiFixture: true });
    const from = new Date("2024-03-01T00:00:00Z");
    const to = new Date("2024-03-02T00:00:00Z");
    await store.db.insertInto("users").values({ id: "dup", location: null }).execute();
    await store.db
      .insertInto("summaries")
      .values([1, 2, 3].map(() => ({ user_id: "dup", from_time: from, to_time: to, num_heartbeats: 1 })))
      .execute();
    await store.db
      .insertInto("summaries")
      .values({ user_id: "dup", from_time: to, to_time: new Date("2024-03-03T00:00:00Z"), num_heartbeats: 1 })
      .execute();

    const report = await migrateToLatest(store.db);
    expect(report.applied).toEqual(ALL_MIGRATIONS);
    expect(report.duplicateSummaries).toEqual([{ userId: "dup", fromTime: from.getTime(), count: 3 }]);
    expect(report.warnings).toHaveLength(1);
    expect(report.warnings[0]).toContain(SUMMARY_UNIQUE_INDEX);
    expect(await indexNames(store.db)).not.toContain(SUMMARY_UNIQUE_INDEX);

    // Reported again on the next run, still without failing.
    expect((await migrateToLatest(store.db)).duplicateSummaries).toHaveLength(1);

    await sql`delete from summaries where id in (select id from summaries where user_id = 'dup' and from_time = ${from} order by id limit 2)`.execute(
      store.db,
    );
    expect(await migrateToLatest(store.db)).toEqual({ applied: [], duplicateSummaries: [], warnings: [] });
    expect(await indexNames(store.db)).toContain(SUMMARY_UNIQUE_INDEX);
  });

  it("stands a plain range index in for the unique one when no index serves (user_id, from_time)", async () => {
    const { store } = await postgres({ wakapiFixture: true });
    await sql`drop index idx_time_summary_user`.execute(store.db);
    await store.db.insertInto("users").values({ id: "dup", location: null }).execute();
    const from = new Date("2024-03-01T00:00:00Z");
    await store.db
      .insertInto("summaries")
      .values([1, 2].map(() => ({ user_id: "dup", from_time: from, to_time: from, num_heartbeats: 0 })))
      .execute();
    const report = await migrateToLatest(store.db);
    expect(report.duplicateSummaries).toHaveLength(1);
    expect(await indexNames(store.db)).toContain("agg_summaries_user_from_idx");
    await sql`delete from summaries`.execute(store.db);
    await migrateToLatest(store.db);
    const indexes = await indexNames(store.db);
    expect(indexes).toContain(SUMMARY_UNIQUE_INDEX);
    expect(indexes).not.toContain("agg_summaries_user_from_idx");
  });

  it("runs concurrently from several instances without failing", async () => {
    const { testDb } = await postgres({ wakapiFixture: true });
    const stores = await Promise.all([1, 2, 3].map(() => openDatabase({ url: testDb.url, poolSize: 2 })));
    cleanups.push(async () => {
      await Promise.all(stores.map((s) => s.close()));
    });
    const reports = await Promise.all(stores.map((s) => migrateToLatest(s.db)));
    expect(reports.flatMap((r) => r.applied).sort()).toEqual([...ALL_MIGRATIONS].sort());
    expect(reports.every((r) => r.duplicateSummaries.length === 0)).toBe(true);
  });

  it("runs on PGlite, twice", async () => {
    const store = await openTestPglite();
    cleanups.push(() => store.close());
    expect((await migrateToLatest(store.db)).applied).toEqual(ALL_MIGRATIONS);
    expect(await migrateToLatest(store.db)).toEqual({ applied: [], duplicateSummaries: [], warnings: [] });
    expect((await columnSnapshot(store.db, ["agg_user_fences"])).map((c) => c.column_name)).toContain(
      "lease_until",
    );
    expect(await indexNames(store.db)).toEqual(
      expect.arrayContaining([HEARTBEATS_COVERING_INDEX, SUMMARY_UNIQUE_INDEX]),
    );
  });

  it("makes a user's heartbeat page a range scan of each heartbeats index", async () => {
    const { store } = await postgres({ wakapiFixture: true });
    await migrateToLatest(store.db);
    const rows = await store.db.transaction().execute(async (trx) => {
      await sql`set local enable_seqscan = off`.execute(trx);
      await sql`set local enable_bitmapscan = off`.execute(trx);
      const page = (fits: string) => `select id, time from heartbeats
        where user_id = 'u' and time >= now() - interval '1 day' and time < now()
          and (time, id) > (now() - interval '1 hour', 5) and ${fits}`;
      const plan = await sql<{ "QUERY PLAN": string }>`explain ${sql.raw(
        `${page(fitsCoveringIndex())} union all ${page(oversizedForCoveringIndex())} order by time, id limit 100`,
      )}`.execute(trx);
      return plan.rows;
    });
    const plan = rows.map((r) => r["QUERY PLAN"]).join("\n");
    expect(plan).toContain(HEARTBEATS_COVERING_INDEX);
    expect(plan).toContain(HEARTBEATS_OVERSIZED_INDEX);
    expect(plan).not.toContain("Seq Scan");
  });

  it("makes a user's days of durations an index-only scan, entity included, and drops the indexes it replaces", async () => {
    const { store } = await postgres({ wakapiFixture: true });
    await migrateToLatest(store.db);
    // As an earlier version of the engine left them.
    await sql`create index agg_heartbeats_user_time_covering_idx on heartbeats (user_id, time, id)
      include (project, language, editor, operating_system, machine, category)`.execute(store.db);
    await sql`create index agg_heartbeats_user_time_id_idx on heartbeats (user_id, time, id)`.execute(
      store.db,
    );
    expect((await migrateToLatest(store.db)).warnings).toEqual([]);
    const indexes = await indexNames(store.db);
    expect(indexes).toEqual(expect.arrayContaining([HEARTBEATS_COVERING_INDEX, HEARTBEATS_OVERSIZED_INDEX]));
    expect(indexes).not.toContain("agg_heartbeats_user_time_covering_idx");
    expect(indexes).not.toContain("agg_heartbeats_user_time_id_idx");
    await sql`vacuum heartbeats`.execute(store.db);
    const day = Date.UTC(2024, 2, 1);
    for (const withEntity of [false, true]) {
      const request = JSON.stringify([
        { k: 0, u: "u", lo: day, hi: day + 86_400_000, starts: [day], tmo: 600_000, ent: withEntity },
      ]);
      const rows = await store.db.transaction().execute(async (trx) => {
        await sql`set local enable_seqscan = off`.execute(trx);
        await sql`set local enable_bitmapscan = off`.execute(trx);
        const query = CompiledQuery.raw(`explain ${dayDurationsSql()}`, [request]);
        return (await trx.executeQuery<{ "QUERY PLAN": string }>(query)).rows;
      });
      const plan = rows.map((r) => r["QUERY PLAN"]).join("\n");
      expect(plan).toContain(`Index Only Scan using ${HEARTBEATS_COVERING_INDEX}`);
      expect(plan).toContain(HEARTBEATS_OVERSIZED_INDEX);
    }
  });

  it("builds the covering index again when a failed concurrent build left it invalid", async () => {
    const { store } = await postgres({ wakapiFixture: true });
    await migrateToLatest(store.db);
    // What an interrupted CREATE INDEX CONCURRENTLY leaves behind (the tests run as a superuser).
    await sql`update pg_index set indisvalid = false
      where indexrelid = ${HEARTBEATS_COVERING_INDEX}::regclass`.execute(store.db);
    const valid = async () =>
      (
        await sql<{ v: boolean }>`select indisvalid as v from pg_index
          where indexrelid = ${HEARTBEATS_COVERING_INDEX}::regclass`.execute(store.db)
      ).rows[0]?.v;
    expect(await valid()).toBe(false);
    expect(await migrateToLatest(store.db)).toEqual({ applied: [], duplicateSummaries: [], warnings: [] });
    expect(await valid()).toBe(true);
  });
});
