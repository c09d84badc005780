/**
 * `EXPLAIN ANALYZE` of the queries the engine issues for one user, written as
 * @agg/store's repositories build them (duration-repository, summary-repository,
 * user-repository), so their plans can be read next to the set-based statement's.
 */
import {
  fitsCoveringIndex,
  oversizedForCoveringIndex,
} from "../../packages/store/src/repository/covering-index-fit";
import { dayDurationsSql } from "../../packages/store/src/repository/day-durations-sql";
import type { PgClient } from "./bench-database";

/** The plans of one user's queries, each with its label. */
export async function explainEngineQueries(
  client: PgClient,
  userId: string,
  fromMs: number,
  toMs: number,
): Promise<{ label: string; plan: string }[]> {
  const from = new Date(fromMs);
  const to = new Date(toMs);
  // A month of UTC days from the first one, as the engine asks for one write's worth.
  const dayMs = 86_400_000;
  const firstDay = Math.floor(fromMs / dayMs) * dayMs;
  const starts = Array.from({ length: 31 }, (_, i) => firstDay + i * dayMs);
  const request = (withEntity: boolean) =>
    JSON.stringify([
      { k: 0, u: userId, lo: starts[0], hi: starts[30]! + dayMs, starts, tmo: 600_000, ent: withEntity },
    ]);
  const queries: { label: string; sql: string; params: unknown[] }[] = [
    {
      label: "loadUsersPlanInputs (settings, mappings, first heartbeat, latest summary)",
      sql: `select u.id, u.location, u.heartbeats_timeout_sec, u.exclude_unknown_projects,
              (select json_agg(json_build_object('extension', m.extension, 'language', m.language) order by m.id)
                 from language_mappings m where m.user_id = u.id) as mappings,
              least((select h.time from heartbeats h where h.user_id = u.id and ${fitsCoveringIndex("h.")} order by h.time limit 1),
                (select h.time from heartbeats h where h.user_id = u.id and ${oversizedForCoveringIndex("h.")} order by h.time limit 1))
                as first_heartbeat,
              (select s.from_time from summaries s where s.user_id = u.id order by s.from_time desc limit 1) as latest
            from users u where u.id in ($1)`,
      params: [userId],
    },
    {
      label: "loadUsersDayDurations, 31 days, no entity",
      sql: dayDurationsSql(),
      params: [request(false)],
    },
    {
      label: "loadUsersDayDurations, 31 days, with entity (users with language mappings)",
      sql: dayDurationsSql(),
      params: [request(true)],
    },
    {
      label: "replaceUsersDays: delete the range's summaries and items",
      sql: `with doomed as (select id from summaries where user_id = $1 and from_time >= $2 and from_time < $3),
              doomed_items as (delete from summary_items where summary_id in (select id from doomed))
            delete from summaries where id in (select id from doomed)`,
      params: [userId, from, to],
    },
  ];
  const plans: { label: string; plan: string }[] = [];
  for (const q of queries) {
    // Deletes run for real inside the transaction, which is rolled back.
    await client.query("begin");
    try {
      const { rows } = await client.query<{ "QUERY PLAN": string }>(
        `explain (analyze, buffers, costs off) ${q.sql}`,
        q.params,
      );
      plans.push({ label: q.label, plan: rows.map((r) => r["QUERY PLAN"]).join("\n") });
    } finally {
      await client.query("rollback");
    }
  }
  return plans;
}

/** The user with the most heartbeats, and the time range of them (for {@link explainEngineQueries}). */
export async function busiestUser(
  client: PgClient,
): Promise<{ userId: string; fromMs: number; toMs: number } | null> {
  const { rows } = await client.query<{ user_id: string; first: Date; last: Date }>(
    `select user_id, min(time) as first, max(time) as last from heartbeats
     group by user_id order by count(*) desc limit 1`,
  );
  const r = rows[0];
  if (!r) return null;
  return { userId: r.user_id, fromMs: r.first.getTime() - 86_400_000, toMs: r.last.getTime() + 86_400_000 };
}
