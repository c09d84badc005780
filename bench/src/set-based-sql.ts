/**
 * What the engine is measured against: SEMANTICS.md as ONE set-based SQL
 * statement, the kind of nightly script an operator would write instead, and a
 * plain scan of the heartbeats (the I/O floor).
 */
import type { PgClient } from "./bench-database";
import { EFFECTIVE_TIMEOUT_MS_SQL, EFFECTIVE_ZONE_SQL } from "./dataset";

/** Where the statement writes its totals: one row per (user, local day, type, key). */
export const CREATE_TOTALS_TABLE_SQL = `
create unlogged table if not exists bench_sql_totals (
  user_id text not null, day date not null, type smallint not null, key text not null, total bigint not null
)`;

/**
 * The per-day, per-type totals of the local days `[$1, $2]` of every user.
 *
 * - Credit: `lead(time)` over the user's local day ordered by `(time, id)`;
 *   the gap counts when below the user's timeout; the day's last heartbeat earns
 *   nothing (lead is NULL, so the comparison is not true).
 * - Language mappings: the entity's extension is its last two dot-parts after
 *   the last `/` or `\`, never the first part; it has at most one dot, so the
 *   mappings that can apply are the whole extension and, when it has a dot, the
 *   part after it; the whole one has more dots and wins. Mappings with an empty
 *   extension or language are ignored (as the engine's store does).
 * - `exclude_unknown_projects`: rows are dropped after the window, so their
 *   gaps still end their predecessors' credits.
 * - Totals: summed in ms per (user, day, attribute combination) first (Wakapi's
 *   durations, few rows), then per type and key, floored to seconds.
 */
export const SET_BASED_TOTALS_SQL = `
insert into bench_sql_totals (user_id, day, type, key, total)
with mappings as (
  select distinct on (user_id, extension) user_id, extension, language
  from language_mappings where extension <> '' and language <> ''
  order by user_id, extension, id desc
),
u as (
  select id as user_id, row_number() over () as uid,
    ${EFFECTIVE_ZONE_SQL} as zone,
    ${EFFECTIVE_TIMEOUT_MS_SQL} * interval '1 millisecond' as timeout,
    coalesce(exclude_unknown_projects, false) as exclude_unknown,
    exists (select 1 from mappings m where m.user_id = users.id) as has_mappings
  from users
),
credited as (
  select u.uid, h.user_id, (h.time at time zone u.zone)::date as day,
    case when lead(h.time) over w - h.time < u.timeout
      then (extract(epoch from lead(h.time) over w - h.time) * 1000)::bigint else 0 end as credit_ms,
    u.exclude_unknown, h.project, h.language, h.editor, h.operating_system, h.machine, h.category,
    case when u.has_mappings then
      (select case when cardinality(p) < 2 then null
                   when cardinality(p) = 2 then p[2]
                   else p[cardinality(p) - 1] || '.' || p[cardinality(p)] end
       from string_to_array(substring(h.entity from '[^/\\\\]*$'), '.') p)
    end as ext
  from heartbeats h join u on u.user_id = h.user_id
  -- The time range (a day of margin either side covers every zone) lets a short range use the index.
  where h.time >= ($1::date - 1)::timestamptz and h.time < ($2::date + 2)::timestamptz
    and (h.time at time zone u.zone)::date between $1::date and $2::date
  window w as (partition by u.uid, (h.time at time zone u.zone)::date order by h.time, h.id)
),
durations as (
  select c.uid, c.user_id, c.day, sum(c.credit_ms) as ms,
    coalesce(nullif(c.project, ''), 'unknown') as project,
    coalesce(nullif(coalesce(m_whole.language, m_tail.language, c.language), ''), 'unknown') as language,
    coalesce(nullif(c.editor, ''), 'unknown') as editor,
    coalesce(nullif(c.operating_system, ''), 'unknown') as operating_system,
    coalesce(nullif(c.machine, ''), 'unknown') as machine,
    coalesce(nullif(c.category, ''), 'unknown') as category
  from credited c
  left join mappings m_whole on m_whole.user_id = c.user_id and m_whole.extension = c.ext
  left join mappings m_tail on m_tail.user_id = c.user_id and strpos(c.ext, '.') > 0
    and m_tail.extension = substr(c.ext, strpos(c.ext, '.') + 1)
  where not (c.exclude_unknown and coalesce(c.project, '') = '')
  group by c.uid, c.user_id, c.day, 5, 6, 7, 8, 9, 10
)
select user_id, day, t.type, t.key, div(sum(ms), 1000)
from durations
cross join lateral (values (0::smallint, project), (1::smallint, language), (2::smallint, editor),
  (3::smallint, operating_system), (4::smallint, machine), (8::smallint, category)) t(type, key)
group by uid, user_id, day, t.type, t.key`;

/** The I/O floor: every heartbeat read once, its widest column touched. */
export const SCAN_SQL = "select count(*)::bigint as n, sum(length(entity))::bigint as bytes from heartbeats";

/**
 * Runs the set-based statement for local days `[from, to]` in a session of its
 * own settings (`work_mem`; JIT off, which only costs compile time here).
 * Returns the rows written.
 */
export async function runSetBasedTotals(
  client: PgClient,
  from: string,
  to: string,
  workMem: string,
): Promise<number> {
  await client.query(CREATE_TOTALS_TABLE_SQL);
  await client.query(`set work_mem = '${workMem}'`);
  await client.query("set jit = off");
  try {
    const result = await client.query(SET_BASED_TOTALS_SQL, [from, to]);
    return result.rowCount ?? 0;
  } finally {
    await client.query("reset work_mem");
    await client.query("reset jit");
  }
}

/** `EXPLAIN (ANALYZE)` of the statement (in a rolled-back transaction: nothing written). */
export async function explainSetBasedTotals(
  client: PgClient,
  from: string,
  to: string,
  workMem: string,
): Promise<string> {
  await client.query(CREATE_TOTALS_TABLE_SQL);
  await client.query("begin");
  try {
    await client.query(`set local work_mem = '${workMem}'`);
    await client.query("set local jit = off");
    const { rows } = await client.query<{ "QUERY PLAN": string }>(
      `explain (analyze, costs off) ${SET_BASED_TOTALS_SQL}`,
      [from, to],
    );
    return rows.map((r) => r["QUERY PLAN"]).join("\n");
  } finally {
    await client.query("rollback");
  }
}
