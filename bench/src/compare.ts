/**
 * Checks the engine's stored summaries against the set-based statement's
 * totals and against the heartbeats themselves, in SQL on the same database.
 */
import type { PgClient } from "./bench-database";
import { EFFECTIVE_ZONE_SQL } from "./dataset";

/** What the comparison found; all counts 0 means the engine is exact. */
export interface Comparison {
  /** (user, day, type, key) rows with a non-zero total on either side. */
  readonly itemsCompared: number;
  /** Rows whose totals differ, or that exist (non-zero) on one side only. */
  readonly itemMismatches: number;
  /** (user, day) whose `num_heartbeats` differs from its count of kept heartbeats. */
  readonly heartbeatCountMismatches: number;
  /** Local days between a user's first heartbeat and `to` without exactly one summary. */
  readonly missingOrDoubledDays: number;
  /** A few mismatching rows, for the report. */
  readonly examples: string[];
}

const ITEMS_SQL = `
with z as (select id, ${EFFECTIVE_ZONE_SQL} as zone from users),
engine as (
  select s.user_id, (s.from_time at time zone z.zone)::date as day, i.type, i.key, i.total
  from summaries s join z on z.id = s.user_id join summary_items i on i.summary_id = s.id
  where i.total > 0 and (s.from_time at time zone z.zone)::date between $1::date and $2::date
),
reference as (
  select user_id, day, type, key, total from bench_sql_totals
  where total > 0 and day between $1::date and $2::date
),
joined as (
  select coalesce(e.user_id, r.user_id) as user_id, coalesce(e.day, r.day) as day,
    coalesce(e.type, r.type) as type, coalesce(e.key, r.key) as key, e.total as engine, r.total as reference
  from engine e full join reference r
    on e.user_id = r.user_id and e.day = r.day and e.type = r.type and e.key = r.key
)
select (select count(*) from joined)::int as compared,
  (select count(*) from joined where engine is distinct from reference)::int as mismatches,
  coalesce((select json_agg(x) from (select * from joined where engine is distinct from reference
    order by user_id, day, type, key limit 5) x), '[]') as examples`;

const DAYS_SQL = `
with z as (
  select id, ${EFFECTIVE_ZONE_SQL} as zone, coalesce(exclude_unknown_projects, false) as exclude_unknown from users
),
kept as (
  select h.user_id, (h.time at time zone z.zone)::date as day, count(*) as n
  from heartbeats h join z on z.id = h.user_id
  where not (z.exclude_unknown and coalesce(h.project, '') = '')
  group by 1, 2
),
stored as (
  select s.user_id, (s.from_time at time zone z.zone)::date as day, s.num_heartbeats
  from summaries s join z on z.id = s.user_id
),
firsts as (
  select h.user_id, min((h.time at time zone z.zone)::date) as first_day
  from heartbeats h join z on z.id = h.user_id group by 1
),
per_day as (
  select f.user_id, d::date as day
  from firsts f cross join lateral generate_series(f.first_day, $2::date, interval '1 day') d
  where d::date >= $1::date
)
select
  (select count(*) from kept k full join stored s on s.user_id = k.user_id and s.day = k.day
    where coalesce(k.day, s.day) between $1::date and $2::date
      and coalesce(k.n, 0) <> coalesce(s.num_heartbeats, -1))::int as count_mismatches,
  (select count(*) from (
    select count(s.user_id) as n from per_day p
    left join stored s on s.user_id = p.user_id and s.day = p.day
    group by p.user_id, p.day) c where n <> 1)::int as missing_days`;

/** Compares the engine's summaries of local days `[from, to]` with `bench_sql_totals` and the heartbeats. */
export async function compareWithReference(client: PgClient, from: string, to: string): Promise<Comparison> {
  const items = await client.query<{ compared: number; mismatches: number; examples: unknown[] }>(ITEMS_SQL, [
    from,
    to,
  ]);
  const days = await client.query<{ count_mismatches: number; missing_days: number }>(DAYS_SQL, [from, to]);
  const i = items.rows[0]!;
  const d = days.rows[0]!;
  return {
    itemsCompared: i.compared,
    itemMismatches: i.mismatches,
    heartbeatCountMismatches: d.count_mismatches,
    missingOrDoubledDays: d.missing_days,
    examples: i.examples.map((e) => JSON.stringify(e)),
  };
}

/** True when nothing differs. */
export function isExact(c: Comparison): boolean {
  return c.itemMismatches === 0 && c.heartbeatCountMismatches === 0 && c.missingOrDoubledDays === 0;
}
