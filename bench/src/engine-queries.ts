/**
 * `EXPLAIN ANALYZE` of the queries the engine issues for one user, written as
 * @agg/store's repositories build them (heartbeat-repository, summary-repository,
 * user-repository), so their plans can be read next to the set-based statement's.
 */
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
  const queries: { label: string; sql: string; params: unknown[] }[] = [
    {
      label: "loadUserSettings (users)",
      sql: "select location, heartbeats_timeout_sec, exclude_unknown_projects from users where id = $1",
      params: [userId],
    },
    {
      label: "loadUserSettings (language_mappings)",
      sql: "select extension, language from language_mappings where user_id = $1 order by id",
      params: [userId],
    },
    {
      label: "firstHeartbeatTime",
      sql: "select time from heartbeats where user_id = $1 order by time limit 1",
      params: [userId],
    },
    {
      label: "streamHeartbeats, first page of 10 000",
      sql: `select id, time, time::text as cursor_time, entity, project, language, editor, operating_system,
              machine, category
            from heartbeats where user_id = $1 and time >= $2 and time < $3
            order by time, id limit 10000`,
      params: [userId, from, to],
    },
    {
      label: "replaceDays: delete the range's items",
      sql: `delete from summary_items where summary_id in (
              select id from summaries where user_id = $1 and from_time >= $2 and from_time < $3)`,
      params: [userId, from, to],
    },
    {
      label: "replaceDays: delete the range's summaries",
      sql: "delete from summaries where user_id = $1 and from_time >= $2 and from_time < $3",
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
