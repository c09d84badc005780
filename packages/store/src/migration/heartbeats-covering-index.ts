import { type RawBuilder, sql } from "kysely";
import { lockKey } from "../repository/advisory-lock";
import { type AnyKysely, indexState, mayCreateIndexOn } from "./introspection";

/** The heartbeats index that makes a user's range of days an index-only scan. */
export const HEARTBEATS_COVERING_INDEX = "agg_heartbeats_user_time_covering_idx";
/** The engine's earlier `(user_id, time, id)` index, which the covering one replaces. @internal */
export const SUPERSEDED_HEARTBEATS_INDEX = "agg_heartbeats_user_time_id_idx";

/**
 * Makes sure `heartbeats (user_id, time, id) include (project, language,
 * editor, operating_system, machine, category)` exists and is valid, then drops
 * the engine's older `(user_id, time, id)` index it replaces. Returns warnings.
 *
 * Why it is not a migration: on an existing Wakapi database the heartbeats
 * table is large and written all the time, and a plain CREATE INDEX blocks
 * every insert until it is built. So it is built CONCURRENTLY (outside any
 * transaction, on one pinned connection), under a session advisory lock so
 * that of instances starting together one builds it while the others go on
 * (they do not wait: see below); a build that failed half
 * way leaves an invalid index, which is dropped and built again. `entity`
 * stays out: a path or URL over about 2.7 kB in a btree entry would make a
 * heartbeat insert fail. Where CONCURRENTLY is not available (the embedded
 * PGlite runs every statement in a transaction block), the index is built
 * plainly: there is no other writer to block.
 */
export async function ensureHeartbeatsCoveringIndex(db: AnyKysely): Promise<string[]> {
  const state = await indexState(db, HEARTBEATS_COVERING_INDEX);
  const superseded = await indexState(db, SUPERSEDED_HEARTBEATS_INDEX);
  if (state === "valid" && superseded === "missing") return [];
  if (!(await mayCreateIndexOn(db, "heartbeats"))) {
    return state === "valid"
      ? []
      : [
          `${HEARTBEATS_COVERING_INDEX} is missing and this database role does not own heartbeats: ` +
            "run `pnpm agg migrate` as the owner to create it (reads are slower without it)",
        ];
  }
  await db.connection().execute(async (conn) => {
    // Try, never wait: a concurrent build waits for every running statement on the
    // database, including one that would be waiting here for the lock (a deadlock).
    // Whoever holds the lock builds the index; the others go on without it for now.
    const { rows } = await sql<{ taken: boolean }>`
      select pg_try_advisory_lock(${lockKey.namespace}, ${lockKey.heartbeatsIndex}) as taken`.execute(conn);
    if (!rows[0]?.taken) return;
    try {
      // Read again under the lock: another instance may have built it meanwhile.
      const now = await indexState(conn, HEARTBEATS_COVERING_INDEX);
      if (now === "invalid") {
        await concurrentlyIfPossible(
          conn,
          (how) => sql`drop index ${how} if exists ${sql.id(HEARTBEATS_COVERING_INDEX)}`,
        );
      }
      if (now !== "valid") {
        await concurrentlyIfPossible(
          conn,
          (how) => sql`create index ${how} if not exists ${sql.id(HEARTBEATS_COVERING_INDEX)}
            on heartbeats (user_id, time, id)
            include (project, language, editor, operating_system, machine, category)`,
        );
      }
      await concurrentlyIfPossible(
        conn,
        (how) => sql`drop index ${how} if exists ${sql.id(SUPERSEDED_HEARTBEATS_INDEX)}`,
      );
    } finally {
      await sql`select pg_advisory_unlock(${lockKey.namespace}, ${lockKey.heartbeatsIndex})`.execute(conn);
    }
  });
  return [];
}

/** SQLSTATE 25001: the statement cannot run inside a transaction block. */
const ACTIVE_SQL_TRANSACTION = "25001";

/** Runs the DDL with CONCURRENTLY, or plainly where the connection is always in a transaction block. */
async function concurrentlyIfPossible(
  conn: AnyKysely,
  ddl: (how: RawBuilder<unknown>) => RawBuilder<unknown>,
): Promise<void> {
  try {
    await ddl(sql.raw("concurrently")).execute(conn);
  } catch (error) {
    if ((error as { code?: unknown }).code !== ACTIVE_SQL_TRANSACTION) throw error;
    await ddl(sql.raw("")).execute(conn);
  }
}
