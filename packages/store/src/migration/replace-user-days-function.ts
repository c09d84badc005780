import { type Kysely, sql } from "kysely";

/**
 * `agg_replace_user_days`: the whole of `replaceUsersDays` in one call, so a
 * group of users' days costs the engine one round trip and one commit instead
 * of five round trips (begin, locks and fences, delete, insert, commit).
 *
 * A PL/pgSQL function, not one SQL statement, because of snapshots: a
 * statement sees the database as of its start, before it had the locks, so
 * a writer queued behind another writer of the same user would not see that
 * writer's rows and would insert a second copy of a day. A VOLATILE function
 * takes a fresh snapshot for each statement it runs (in READ COMMITTED), so
 * the delete and the insert run after the locks and see every committed
 * write, as the statements of a transaction did.
 *
 * Arguments (all `jsonb` except the first):
 * 1. the advisory-lock namespace of per-user summary locks (`lockKey.userSummaries`);
 * 2. the user ids to lock, in the order to lock them (sorted by the caller, so
 *    concurrent writers never wait on each other in a cycle);
 * 3. fences to claim, `[{u, t, h}]` (user, token as text, holder): accepted
 *    when no token is stored, the stored one is smaller, or it is the same
 *    token of the same holder; the latest committed row is judged (ON CONFLICT);
 * 4. `[from, to)` ranges of summaries to delete, `[{u, from, to}]` (epoch ms);
 * 5. the days to insert, `[{u, f, t, n, i: [[type, key, total], ...]}]`;
 * 6. jobs the write completes, `[{b, u, i}]` (batch, user, instance): each
 *    still `pending` row of `agg_batch_users` becomes `done` in the same
 *    transaction, so a job's last days and its outcome are durable together.
 *
 * Returns `(out_user_id, out_what)`: one row per user whose fence was refused
 * (`refused`; nothing of theirs is deleted, inserted or completed) and one
 * per job completed (`completed`). The rest commits or rolls back as one,
 * with the caller's statement.
 *
 * Named arguments and variables start with `p_` / `v_`, so that none can be
 * mistaken for a column.
 */
export const REPLACE_USER_DAYS_FUNCTION_SQL = `
create or replace function agg_replace_user_days(
  p_lock_class int4, p_lock_users jsonb, p_claims jsonb, p_ranges jsonb, p_days jsonb, p_completions jsonb
) returns table (out_user_id text, out_what text)
language plpgsql volatile
as $fn$
declare
  v_refused text[];
begin
  perform count(pg_advisory_xact_lock(p_lock_class, hashtext(u.id)))
  from jsonb_array_elements_text(p_lock_users) as u(id);

  with c as (
    select c.u, c.t, c.h from jsonb_to_recordset(p_claims) as c(u text, t int8, h text)
  ),
  claimed as (
    insert into agg_user_fences as f (user_id, token, holder, updated_at)
    select c.u, c.t, c.h, now() from c
    on conflict (user_id) do update
      set token = excluded.token, holder = excluded.holder, updated_at = excluded.updated_at
      where f.token < excluded.token or (f.token = excluded.token and f.holder = excluded.holder)
    returning f.user_id
  )
  select coalesce(array_agg(c.u), '{}') into v_refused
  from c where not exists (select 1 from claimed where claimed.user_id = c.u);

  with r as (
    select r.u, timestamptz 'epoch' + r."from" * interval '1 millisecond' as lo,
      timestamptz 'epoch' + r."to" * interval '1 millisecond' as hi
    from jsonb_to_recordset(p_ranges) as r(u text, "from" int8, "to" int8)
    where r.u <> all(v_refused)
  ),
  -- Index range scans only, whatever the planner guesses for the jsonb ranges:
  -- as joins, these became a sequential scan of summaries and summary_items per
  -- call, a cost that grew with the history kept (LATERAL + OFFSET 0 keeps the
  -- per-user subquery; = any(array(...)) probes the id indexes).
  doomed as (
    select s.id from r cross join lateral (
      select s.id from summaries s
      where s.user_id = r.u and s.from_time >= r.lo and s.from_time < r.hi
      offset 0
    ) s
  ),
  doomed_items as (delete from summary_items where summary_id = any(array(select id from doomed)))
  delete from summaries where id = any(array(select id from doomed));

  with d as (
    select d.u, timestamptz 'epoch' + d.f * interval '1 millisecond' as from_time,
      timestamptz 'epoch' + d.t * interval '1 millisecond' as to_time, d.n, d.i
    from jsonb_to_recordset(p_days) as d(u text, f int8, t int8, n int8, i jsonb)
    where d.u <> all(v_refused)
  ),
  s as (
    insert into summaries (user_id, from_time, to_time, num_heartbeats)
    select d.u, d.from_time, d.to_time, d.n from d
    returning id, user_id, from_time
  )
  insert into summary_items (summary_id, type, key, total)
  select s.id, (item ->> 0)::int2, item ->> 1, (item ->> 2)::int8
  from s join d on d.u = s.user_id and d.from_time = s.from_time
  cross join jsonb_array_elements(d.i) as item;

  return query
    with done as (
      update agg_batch_users as bu
        set status = 'done', reason = null, instance = o.i, updated_at = now()
      from jsonb_to_recordset(p_completions) as o(b text, u text, i text)
      where bu.batch_id = o.b and bu.user_id = o.u and bu.status = 'pending' and o.u <> all(v_refused)
      returning bu.user_id
    )
    select r.u, 'refused'::text from unnest(v_refused) as r(u)
    union all
    select done.user_id, 'completed'::text from done;
end
$fn$`;

/** Creates (or replaces) `agg_replace_user_days`. @internal */
export async function createReplaceUserDaysFunction(db: Kysely<unknown>): Promise<void> {
  await sql.raw(REPLACE_USER_DAYS_FUNCTION_SQL).execute(db);
}
