/**
 * `agg_replace_user_days` reads only the rows of the users it writes: its
 * deletes are index range scans, so a write costs the same however much
 * history the tables hold. Counted by PostgreSQL itself: the growth of
 * `pg_stat_xact_user_tables.seq_scan` across the call, inside one transaction
 * (the view also holds this backend's counts not yet flushed from earlier
 * transactions, hence the difference).
 */
import { migrateToLatest } from "@agg/store";
import { openTestPostgres } from "@agg/test-support";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const DAY_MS = 86_400_000;
const FIRST_DAY = Date.UTC(2024, 0, 1);

describe("agg_replace_user_days on a long history (PostgreSQL)", () => {
  let store: Awaited<ReturnType<typeof openTestPostgres>>;

  beforeAll(async () => {
    store = await openTestPostgres({ poolSize: 2 });
    await migrateToLatest(store.db);
    // 40 users with 200 days of summaries each (8 000 rows, 24 000 items):
    // enough that a join would read the tables whole rather than probe them.
    await sql`
      insert into users (id) select 'u' || g from generate_series(1, 40) as g
    `.execute(store.db);
    await sql`
      with s as (
        insert into summaries (user_id, from_time, to_time, num_heartbeats)
        select 'u' || u, to_timestamp((${FIRST_DAY}::int8 + d * ${DAY_MS}::int8) / 1000.0),
          to_timestamp((${FIRST_DAY}::int8 + (d + 1) * ${DAY_MS}::int8) / 1000.0), 10
        from generate_series(1, 40) as u, generate_series(0, 199) as d
        returning id
      )
      insert into summary_items (summary_id, type, key, total)
      select s.id, t, 'k' || t, 60 from s, generate_series(0, 2) as t
    `.execute(store.db);
    await sql`analyze summaries`.execute(store.db);
    await sql`analyze summary_items`.execute(store.db);
  }, 60_000);

  afterAll(async () => {
    await store?.close();
  });

  it("replaces two users' existing days without a sequential scan of summaries or summary_items", async () => {
    const day = FIRST_DAY + 100 * DAY_MS;
    const users = ["u7", "u8"];
    const ranges = users.map((u) => ({ u, from: day, to: day + DAY_MS }));
    const days = users.map((u) => ({ u, f: day, t: day + DAY_MS, n: 3, i: [[0, "new", 120]] }));
    const { scans, items } = await store.db.transaction().execute(async (trx) => {
      const seqScans = async () =>
        (
          await sql<{ relname: string; seq_scan: string }>`
            select relname, seq_scan::text from pg_stat_xact_user_tables
            where relname in ('summaries', 'summary_items') order by relname
          `.execute(trx)
        ).rows.map((r) => ({ relname: r.relname, seqScans: Number(r.seq_scan) }));
      const before = await seqScans();
      await sql`
        select * from agg_replace_user_days(
          cast(1 as int4), cast(${JSON.stringify(users)} as jsonb), cast('[]' as jsonb),
          cast(${JSON.stringify(ranges)} as jsonb), cast(${JSON.stringify(days)} as jsonb), cast('[]' as jsonb))
      `.execute(trx);
      const after = await seqScans();
      const scans = after.map((a, i) => ({ relname: a.relname, seqScans: a.seqScans - before[i]!.seqScans }));
      const items = await sql<{ user_id: string; key: string; total: string }>`
        select s.user_id, i.key, i.total::text from summaries s join summary_items i on i.summary_id = s.id
        where s.user_id in ('u7', 'u8') and s.from_time = to_timestamp(${day}::int8 / 1000.0)
        order by s.user_id, i.key
      `.execute(trx);
      return { scans, items: items.rows };
    });
    expect(scans).toEqual([
      { relname: "summaries", seqScans: 0 },
      { relname: "summary_items", seqScans: 0 },
    ]);
    // The day was replaced: the new item only, once per user.
    expect(items).toEqual([
      { user_id: "u7", key: "new", total: "120" },
      { user_id: "u8", key: "new", total: "120" },
    ]);
  });
});
