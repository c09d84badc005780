/**
 * The text of the durations query (`loadUsersDayDurations`), in a module of its
 * own without imports, so that the benchmark explains exactly the statement the
 * engine runs (`pnpm bench --explain`).
 *
 * `$1` is a `jsonb` array of requests `{k, u, lo, hi, starts, tmo}`: the
 * request's index, the user, the range's first and end instants and the day
 * starts (epoch ms), and the timeout. Each row is one (request, day, attribute
 * combination) with the summed credit and the heartbeat count.
 *
 * @param withEntity whether rows carry the entity; without it the query never
 *   names the column, so a user's rows are an index-only scan of the covering index.
 * @internal
 */
export function dayDurationsSql(withEntity: boolean): string {
  return `
    with req as (
      select r.k, r.u, r.starts, r.tmo,
        timestamptz 'epoch' + r.lo * interval '1 millisecond' as lo,
        timestamptz 'epoch' + r.hi * interval '1 millisecond' as hi
      from jsonb_to_recordset(cast($1 as jsonb))
        as r(k int4, u text, lo int8, hi int8, starts int8[], tmo int8)
    ),
    hb as (
      -- LATERAL: each user's rows come from their own index range scan, never a
      -- hash join over the whole table, whatever the planner guesses for req.
      select req.k, req.tmo, width_bucket(h.ms, req.starts) - 1 as day_index, h.*
      from req
      cross join lateral (
        select h.time, h.id, h.project, h.language, h.editor, h.operating_system, h.machine, h.category,
          ${withEntity ? "h.entity" : "null::text"} as entity,
          extract(epoch from date_trunc('second', h.time))::int8 * 1000
            + (extract(microseconds from h.time)::int8 % 1000000) / 1000 as ms
        from heartbeats h
        where h.user_id = req.u and h.time >= req.lo and h.time < req.hi
        offset 0 -- keeps the subquery per user: flattened, it became a hash join over a full scan
      ) h
    ),
    credited as (
      select hb.*, lead(hb.ms) over (partition by hb.k, hb.day_index order by hb.time, hb.id) - hb.ms as gap
      from hb
    )
    select k, day_index, project, language, editor, operating_system, machine, category, entity,
      sum(case when gap < tmo then gap else 0 end)::float8 as credited_ms,
      count(*)::int4 as heartbeats
    from credited
    group by k, day_index, project, language, editor, operating_system, machine, category, entity`;
}
