import { fitsCoveringIndex, oversizedForCoveringIndex } from "./covering-index-fit";

/**
 * The text of the durations query (`loadUsersDayDurations`), in a module of its
 * own (importing only the covering index's predicates), so that the benchmark
 * explains exactly the statement the engine runs (`pnpm bench --explain`).
 *
 * `$1` is a `jsonb` array of requests `{k, u, lo, hi, starts, tmo, ent}`: the
 * request's index, the user, the range's first and end instants and the day
 * starts (epoch ms), the timeout, and whether rows carry the entity (only
 * users with language mappings need it, and grouping by it multiplies their
 * rows; the others get null). Each row is one (request, day, attribute
 * combination) with the summed credit and the heartbeat count.
 *
 * A user's rows are an index-only range scan of the covering index, entity
 * included, plus the rare rows too big for it from the oversized-rows index
 * (`covering-index-fit.ts`); the window sorts them together by `(time, id)`.
 * The entity is in the covering index too, so users with and without it share
 * one statement.
 * @internal
 */
export function dayDurationsSql(): string {
  const userRows = (fits: string) => `
          select h.time, h.id, h.project, h.language, h.editor, h.operating_system, h.machine, h.category,
            case when req.ent then h.entity end as entity
          from heartbeats h
          where h.user_id = req.u and h.time >= req.lo and h.time < req.hi and ${fits}`;
  return `
    with req as (
      select r.k, r.u, r.starts, r.tmo, r.ent,
        timestamptz 'epoch' + r.lo * interval '1 millisecond' as lo,
        timestamptz 'epoch' + r.hi * interval '1 millisecond' as hi
      from jsonb_to_recordset(cast($1 as jsonb))
        as r(k int4, u text, lo int8, hi int8, starts int8[], tmo int8, ent bool)
      -- In k order, each user's rows then come in k order too, so the window's sort
      -- is an incremental one (a small in-memory sort per user, of rows already in
      -- (time, id) order) instead of one sort of every user's rows, which spills.
      order by r.k
    ),
    hb as (
      -- LATERAL: each user's rows come from their own index range scans, never a
      -- hash join over the whole table, whatever the planner guesses for req.
      select req.k, req.tmo, width_bucket(h.ms, req.starts) - 1 as day_index, h.*
      from req
      cross join lateral (
        select h.*,
          -- The time floored to the millisecond, as epoch ms, computed in float8: extract()
          -- returns numeric (PostgreSQL 14 on), which cost 1.0 against 0.4 microseconds a row.
          -- Exact: a whole number of ms, as epoch seconds in a double, is within 1e-4 ms of
          -- itself (13 to 16 significant digits up to the year 2286); round() recovers it.
          round(date_part('epoch', date_trunc('milliseconds', h.time)) * 1000)::int8 as ms
        from (${userRows(fitsCoveringIndex("h."))}
          union all${userRows(oversizedForCoveringIndex("h."))}
        ) h
        offset 0 -- keeps the subquery per user: flattened, it became a hash join over a full scan
      ) h
    ),
    credited as (
      -- The gap to the next heartbeat of the same day: partitioned by user alone (so
      -- the sort above stays incremental), the next row counts only when it falls on
      -- the same day; (time, id) order keeps a day's rows together.
      select hb.*,
        case when lead(hb.day_index) over per_user = hb.day_index then lead(hb.ms) over per_user - hb.ms end as gap
      from hb
      window per_user as (partition by hb.k order by hb.time, hb.id)
    )
    select k, day_index, project, language, editor, operating_system, machine, category, entity,
      sum(case when gap < tmo then gap else 0 end)::float8 as credited_ms,
      count(*)::int4 as heartbeats
    from credited
    group by k, day_index, project, language, editor, operating_system, machine, category, entity`;
}
