import type { Heartbeat } from "@agg/core";
import { type Expression, type Kysely, type RawBuilder, sql } from "kysely";
import { InvalidInputError } from "../invalid-input-error";
import type { Database, HeartbeatAttributeColumns } from "../schema";
import { toEpochMs, toNumber } from "../timestamp";
import { fitsCoveringIndex, oversizedForCoveringIndex } from "./covering-index-fit";

/** Heartbeats per page when the caller does not say. */
export const DEFAULT_HEARTBEAT_PAGE_SIZE = 10_000;

/**
 * A user's heartbeats with `fromMs <= time < toMs`, ordered by `(time, id)`,
 * one page (array) at a time. Keyset pagination on `(time, id)` over the index
 * `(user_id, time, id)`: each page is one short range-scan query, memory holds
 * one page, and no connection (nor PGlite's single session) is held between
 * pages. Heartbeats inserted meanwhile after the cursor show up; it is the
 * caller's business to read only complete days.
 *
 * @example
 * ```ts
 * for await (const page of streamHeartbeats(db, "alice", from, to)) for (const hb of page) push(hb);
 * ```
 */
export async function* streamHeartbeats(
  db: Kysely<Database>,
  userId: string,
  fromMs: number,
  toMs: number,
  pageSize: number = DEFAULT_HEARTBEAT_PAGE_SIZE,
): AsyncIterable<Heartbeat[]> {
  if (!Number.isInteger(pageSize) || pageSize <= 0) {
    throw new InvalidInputError(`pageSize must be a positive integer, got ${pageSize}`);
  }
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs)) {
    throw new InvalidInputError(`heartbeat range must be finite epoch ms, got [${fromMs}, ${toMs})`);
  }
  if (fromMs >= toMs) return;
  let after: Cursor | null = null;
  for (;;) {
    const rows = await fetchPage(db, userId, fromMs, toMs, after, pageSize);
    if (rows.length === 0) return;
    const last = rows[rows.length - 1]!;
    after = { time: last.cursor_time, id: toNumber(last.id) };
    yield rows.map(toHeartbeat);
    if (rows.length < pageSize) return;
  }
}

/** Where the previous page ended. */
interface Cursor {
  readonly time: string;
  readonly id: number;
}

interface HeartbeatRow extends HeartbeatAttributeColumns {
  readonly id: number;
  readonly time: Date;
  /** The database's own text of `time`, so the cursor is exact even for sub-millisecond times. */
  readonly cursor_time: string;
  readonly entity: string;
}

/**
 * One keyset page: the range scans `(user_id, time, id)` of the covering index
 * and of the oversized-rows index from just after `after`, merged in order.
 */
function fetchPage(
  db: Kysely<Database>,
  userId: string,
  fromMs: number,
  toMs: number,
  after: Cursor | null,
  pageSize: number,
): Promise<HeartbeatRow[]> {
  const rowsWhere = (fits: string) => {
    let query = db
      .selectFrom("heartbeats")
      .select([
        "id",
        "time",
        sql<string>`time::text`.as("cursor_time"),
        "entity",
        "project",
        "language",
        "editor",
        "operating_system",
        "machine",
        "category",
      ])
      .where("user_id", "=", userId)
      .where("time", ">=", new Date(fromMs))
      .where("time", "<", new Date(toMs))
      .where(sql<boolean>`${sql.raw(fits)}`);
    if (after) {
      query = query.where(({ eb, refTuple, tuple }) =>
        eb(refTuple("time", "id"), ">", tuple(sql<Date>`cast(${after.time} as timestamptz)`, after.id)),
      );
    }
    return query;
  };
  return rowsWhere(fitsCoveringIndex())
    .unionAll(rowsWhere(oversizedForCoveringIndex()))
    .orderBy("time")
    .orderBy("id")
    .limit(pageSize)
    .execute();
}

function toHeartbeat(row: HeartbeatRow): Heartbeat {
  return {
    id: row.id,
    time: toEpochMs(row.time),
    entity: row.entity,
    project: row.project,
    language: row.language,
    editor: row.editor,
    operatingSystem: row.operating_system,
    machine: row.machine,
    category: row.category,
  };
}

/**
 * Epoch ms of the user's first heartbeat (an index-backed min), or null when
 * the user has none.
 */
export async function firstHeartbeatTime(db: Kysely<Database>, userId: string): Promise<number | null> {
  const row = await db.selectNoFrom(firstHeartbeatOf(sql.val(userId)).as("time")).executeTakeFirst();
  return row?.time ? toEpochMs(row.time) : null;
}

/**
 * The time of a user's first heartbeat as an SQL expression (null when none):
 * the earlier of the first row of the covering index and the first of the
 * oversized-rows index, each one index probe, where a plain `min(time)` could
 * use neither partial index.
 */
export function firstHeartbeatOf(userId: Expression<string>): RawBuilder<Date | null> {
  const first = (fits: string) =>
    sql`(select h.time from heartbeats h where h.user_id = ${userId} and ${sql.raw(fits)} order by h.time limit 1)`;
  return sql<Date | null>`least(${first(fitsCoveringIndex("h."))}, ${first(oversizedForCoveringIndex("h."))})`;
}
