import { type RawBuilder, sql } from "kysely";
import { lockKey } from "../repository/advisory-lock";
import { fitsCoveringIndex, oversizedForCoveringIndex } from "../repository/covering-index-fit";
import { type AnyKysely, indexState, mayCreateIndexOn } from "./introspection";

/**
 * The heartbeats index that makes a user's range of days an index-only scan,
 * entity included: `(user_id, time, id)` covering every attribute a summary
 * reads, over the rows that fit a btree entry (`covering-index-fit.ts`).
 */
export const HEARTBEATS_COVERING_INDEX = "agg_heartbeats_user_time_entity_idx";
/** The rows too big for the covering index, by `(user_id, time, id)`: nearly always empty. */
export const HEARTBEATS_OVERSIZED_INDEX = "agg_heartbeats_user_time_oversized_idx";
/**
 * The engine's earlier heartbeats indexes, which the two above replace: the
 * plain `(user_id, time, id)` and the covering one without entity. @internal
 */
export const SUPERSEDED_HEARTBEATS_INDEXES = [
  "agg_heartbeats_user_time_id_idx",
  "agg_heartbeats_user_time_covering_idx",
] as const;

/** Each index this module owns, with its definition after the name. */
const HEARTBEATS_INDEXES = [
  // Queries are correct with either missing (the indexes only make them fast);
  // the small one goes first because it is built in one pass with no sort.
  {
    name: HEARTBEATS_OVERSIZED_INDEX,
    definition: sql`on heartbeats (user_id, time, id) where ${sql.raw(oversizedForCoveringIndex())}`,
  },
  {
    name: HEARTBEATS_COVERING_INDEX,
    definition: sql`on heartbeats (user_id, time, id)
      include (project, language, editor, operating_system, machine, category, entity)
      where ${sql.raw(fitsCoveringIndex())}`,
  },
] as const;

/**
 * Makes sure the covering index and the oversized-rows index exist and are
 * valid, then drops the engine's older heartbeats indexes they replace.
 * Returns warnings.
 *
 * Why it is not a migration: on an existing Wakapi database the heartbeats
 * table is large and written all the time, and a plain CREATE INDEX blocks
 * every insert until it is built. So each is built CONCURRENTLY (outside any
 * transaction, on one pinned connection), under a session advisory lock so
 * that of instances starting together one builds them while the others go on
 * (they do not wait: see below); a build that failed half way leaves an
 * invalid index, which is dropped and built again. Where CONCURRENTLY is not
 * available (the embedded PGlite runs every statement in a transaction block),
 * they are built plainly: there is no other writer to block.
 */
export async function ensureHeartbeatsCoveringIndex(db: AnyKysely): Promise<string[]> {
  const { missing, superseded } = await heartbeatsIndexesToMend(db);
  if (missing.length === 0 && superseded.length === 0) return [];
  if (!(await mayCreateIndexOn(db, "heartbeats"))) {
    if (missing.length === 0) return [];
    const [verb, them] = missing.length === 1 ? ["is", "it"] : ["are", "them"];
    return [
      `${missing.join(" and ")} ${verb} missing and this database role does not own heartbeats: ` +
        `run \`pnpm agg migrate\` as the owner to create ${them} (reads are slower without ${them})`,
    ];
  }
  await db.connection().execute(async (conn) => {
    // Try, never wait: a concurrent build waits for every running statement on the
    // database, including one that would be waiting here for the lock (a deadlock).
    // Whoever holds the lock builds the indexes; the others go on without them for now.
    const { rows } = await sql<{ taken: boolean }>`
      select pg_try_advisory_lock(${lockKey.namespace}, ${lockKey.heartbeatsIndex}) as taken`.execute(conn);
    if (!rows[0]?.taken) return;
    try {
      for (const { name, definition } of HEARTBEATS_INDEXES) {
        // Read again under the lock: another instance may have built it meanwhile.
        const now = await indexState(conn, name);
        if (now === "invalid") {
          await concurrentlyIfPossible(conn, (how) => sql`drop index ${how} if exists ${sql.id(name)}`);
        }
        if (now !== "valid") {
          await concurrentlyIfPossible(
            conn,
            (how) => sql`create index ${how} if not exists ${sql.id(name)} ${definition}`,
          );
        }
      }
      for (const name of SUPERSEDED_HEARTBEATS_INDEXES) {
        await concurrentlyIfPossible(conn, (how) => sql`drop index ${how} if exists ${sql.id(name)}`);
      }
    } finally {
      await sql`select pg_advisory_unlock(${lockKey.namespace}, ${lockKey.heartbeatsIndex})`.execute(conn);
    }
  });
  return [];
}

/** The indexes of this module that are not valid yet, and those they replace that are still there. */
async function heartbeatsIndexesToMend(db: AnyKysely): Promise<{ missing: string[]; superseded: string[] }> {
  const missing: string[] = [];
  for (const { name } of HEARTBEATS_INDEXES) if ((await indexState(db, name)) !== "valid") missing.push(name);
  const superseded: string[] = [];
  for (const name of SUPERSEDED_HEARTBEATS_INDEXES) {
    if ((await indexState(db, name)) !== "missing") superseded.push(name);
  }
  return { missing, superseded };
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
