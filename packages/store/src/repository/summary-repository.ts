import type { DaySummary, SummaryItem, SummaryItemType } from "@agg/core";
import { type Expression, type ExpressionBuilder, type Kysely, type SqlBool, sql } from "kysely";
import { InvalidInputError } from "../invalid-input-error";
import type { Database } from "../schema";
import { toEpochMs, toNumber } from "../timestamp";
import { lockUserSummaries } from "./advisory-lock";
import { claimFence, type Fence } from "./fence-repository";

/** Options of `replaceDay` / `replaceDays`. */
export interface ReplaceDaysOptions {
  /** When set, the write happens only under this (or a newer) fencing token, else `FencedOutError`. */
  readonly fence?: Fence | undefined;
}

/** A stored `summaries` row with its items, times as epoch ms. */
export interface StoredSummary {
  readonly id: number;
  readonly userId: string;
  readonly fromTime: number;
  readonly toTime: number;
  readonly numHeartbeats: number;
  /** Sorted by type, then key. */
  readonly items: readonly SummaryItem[];
}

/** Days per INSERT statement (their items travel in the same `jsonb` parameter). */
const DAYS_PER_INSERT = 1_000;
/** `[from, to)` ranges per DELETE (two parameters each). */
const RANGES_PER_DELETE = 1_000;
/** Summary ids per `in (...)` list when reading items. */
const IDS_PER_QUERY = 10_000;

/**
 * Epoch ms of the user's latest summary `from_time` (index-backed), or null
 * when the user has no summary.
 */
export async function latestSummaryFrom(db: Kysely<Database>, userId: string): Promise<number | null> {
  const row = await db
    .selectFrom("summaries")
    .select("from_time")
    .where("user_id", "=", userId)
    .orderBy("from_time", "desc")
    .limit(1)
    .executeTakeFirst();
  return row ? toEpochMs(row.from_time) : null;
}

/**
 * Replaces one day of a user's summaries atomically: in ONE transaction it
 * takes the user's advisory lock, checks the fence (if given), deletes every
 * summary of the user starting in `[fromTime, toTime)` with its items, and
 * inserts the new row and its items. Concurrent writers of the same user
 * queue on the lock, so a day is never missing or doubled for readers.
 *
 * @throws {FencedOutError} when `opts.fence` is older than the stored token (nothing written).
 * @throws {InvalidInputError} on a summary with a bad time range or counts.
 */
export async function replaceDay(
  db: Kysely<Database>,
  summary: DaySummary,
  opts: ReplaceDaysOptions = {},
): Promise<void> {
  await replaceDays(db, [summary], opts);
}

/**
 * `replaceDay` for many days of ONE user in one transaction (the lock and the
 * fence check in one statement, one delete, one insert of days and items):
 * much faster when writing a month at a time. Each day is still replaced as a
 * whole; the days must not overlap.
 *
 * @throws {InvalidInputError} when the summaries belong to several users or overlap.
 * @throws {FencedOutError} see `replaceDay`.
 */
export async function replaceDays(
  db: Kysely<Database>,
  summaries: readonly DaySummary[],
  opts: ReplaceDaysOptions = {},
): Promise<void> {
  if (summaries.length === 0) return;
  const days = [...summaries].sort((a, b) => a.fromTime - b.fromTime);
  const userId = validate(days);
  const ranges = mergeAdjacent(days);

  // Four round trips whatever the days: lock + fence, delete, insert, commit.
  await db.transaction().execute(async (trx) => {
    if (opts.fence) {
      await claimFence(trx, userId, opts.fence.token, opts.fence.holder, { lockUserSummaries: true });
    } else {
      await lockUserSummaries(trx, userId);
    }
    for (let i = 0; i < ranges.length; i += RANGES_PER_DELETE) {
      await deleteSummaries(trx, userId, ranges.slice(i, i + RANGES_PER_DELETE));
    }
    for (let i = 0; i < days.length; i += DAYS_PER_INSERT) {
      await insertSummaries(trx, userId, days.slice(i, i + DAYS_PER_INSERT));
    }
  });
}

/**
 * Deletes the user's summaries starting in `ranges`, with their items, in one
 * statement. Items explicitly, not only through ON DELETE CASCADE: an existing
 * Wakapi database may lack the cascade (the foreign key is checked at the end
 * of the statement, when both are gone).
 */
async function deleteSummaries(
  trx: Kysely<Database>,
  userId: string,
  ranges: readonly [number, number][],
): Promise<void> {
  await trx
    .with("doomed", (db) =>
      db
        .selectFrom("summaries")
        .select("summaries.id")
        .where("summaries.user_id", "=", userId)
        .where(whereFromTimeIn(ranges)),
    )
    .with("doomed_items", (db) =>
      db
        .deleteFrom("summary_items")
        .where("summary_id", "in", (eb) => eb.selectFrom("doomed").select("doomed.id")),
    )
    .deleteFrom("summaries")
    .where("id", "in", (eb) => eb.selectFrom("doomed").select("doomed.id"))
    .execute();
}

/**
 * Inserts the days and their items in one statement, from one `jsonb`
 * parameter: the summaries' new ids come back from the first insert and are
 * joined to their items by `from_time` (unique among one user's days here).
 * Times travel as epoch ms and become timestamps exactly.
 */
async function insertSummaries(
  trx: Kysely<Database>,
  userId: string,
  days: readonly DaySummary[],
): Promise<void> {
  const payload = JSON.stringify(
    days.map((d) => ({
      f: d.fromTime,
      t: d.toTime,
      n: d.numHeartbeats,
      i: d.items.map((item) => [item.type, item.key, item.total]),
    })),
  );
  await sql`
    with d as (
      select timestamptz 'epoch' + d.f * interval '1 millisecond' as from_time,
        timestamptz 'epoch' + d.t * interval '1 millisecond' as to_time, d.n, d.i
      from jsonb_to_recordset(cast(${payload} as jsonb)) as d(f int8, t int8, n int8, i jsonb)
    ),
    s as (
      insert into summaries (user_id, from_time, to_time, num_heartbeats)
      select ${userId}, d.from_time, d.to_time, d.n from d
      returning id, from_time
    )
    insert into summary_items (summary_id, type, key, total)
    select s.id, (item ->> 0)::int2, item ->> 1, (item ->> 2)::int8
    from s join d on d.from_time = s.from_time
    cross join jsonb_array_elements(d.i) as item`.execute(trx);
}

/**
 * The user's stored summaries with `fromMs <= from_time < toMs`, ordered by
 * `from_time`, each with its items.
 */
export async function listSummaries(
  db: Kysely<Database>,
  userId: string,
  fromMs: number,
  toMs: number,
): Promise<StoredSummary[]> {
  const rows = await db
    .selectFrom("summaries")
    .select(["id", "from_time", "to_time", "num_heartbeats"])
    .where("user_id", "=", userId)
    .where("from_time", ">=", new Date(fromMs))
    .where("from_time", "<", new Date(toMs))
    .orderBy("from_time")
    .orderBy("id")
    .execute();
  const itemsById = new Map<number, SummaryItem[]>();
  const ids = rows.map((r) => toNumber(r.id));
  for (let i = 0; i < ids.length; i += IDS_PER_QUERY) {
    const items = await db
      .selectFrom("summary_items")
      .select(["summary_id", "type", "key", "total"])
      .where("summary_id", "in", ids.slice(i, i + IDS_PER_QUERY))
      .orderBy("summary_id")
      .orderBy("type")
      .orderBy("key")
      .execute();
    for (const item of items) {
      const summaryId = toNumber(item.summary_id ?? 0);
      let list = itemsById.get(summaryId);
      if (!list) {
        list = [];
        itemsById.set(summaryId, list);
      }
      list.push({
        type: (item.type ?? 0) as SummaryItemType,
        key: item.key ?? "unknown",
        total: item.total === null ? 0 : toNumber(item.total),
      });
    }
  }
  return rows.map((r) => {
    const id = toNumber(r.id);
    return {
      id,
      userId,
      fromTime: toEpochMs(r.from_time),
      toTime: toEpochMs(r.to_time),
      numHeartbeats: r.num_heartbeats === null ? 0 : toNumber(r.num_heartbeats),
      items: itemsById.get(id) ?? [],
    };
  });
}

/** Checks what `replaceDays` is about to write; returns the one user id. */
function validate(days: readonly DaySummary[]): string {
  const userId = days[0]!.userId;
  let previousTo = Number.NEGATIVE_INFINITY;
  for (const d of days) {
    if (d.userId !== userId) {
      throw new InvalidInputError(`replaceDays writes one user at a time, got ${userId} and ${d.userId}`);
    }
    if (!Number.isSafeInteger(d.fromTime) || !Number.isSafeInteger(d.toTime) || d.fromTime >= d.toTime) {
      throw new InvalidInputError(
        `summary of ${userId} ${d.day} has a bad time range [${d.fromTime}, ${d.toTime})`,
      );
    }
    if (d.fromTime < previousTo) {
      throw new InvalidInputError(`summaries of ${userId} overlap at ${d.day}`);
    }
    if (!Number.isSafeInteger(d.numHeartbeats) || d.numHeartbeats < 0) {
      throw new InvalidInputError(`summary of ${userId} ${d.day} has a bad numHeartbeats ${d.numHeartbeats}`);
    }
    for (const item of d.items) {
      if (!Number.isSafeInteger(item.total) || item.total < 0) {
        throw new InvalidInputError(
          `summary of ${userId} ${d.day} has a bad total ${item.total} for ${item.key}`,
        );
      }
    }
    previousTo = d.toTime;
  }
  return userId;
}

/** `from_time` falls in one of `ranges` (half-open). */
function whereFromTimeIn(ranges: readonly [number, number][]) {
  return (eb: ExpressionBuilder<Database, "summaries">): Expression<SqlBool> =>
    eb.or(
      ranges.map(([from, to]) =>
        eb.and([
          eb("summaries.from_time", ">=", new Date(from)),
          eb("summaries.from_time", "<", new Date(to)),
        ]),
      ),
    );
}

/** The days' `[fromTime, toTime)` ranges, adjacent ones merged (a month of days is one range). */
function mergeAdjacent(days: readonly DaySummary[]): [number, number][] {
  const ranges: [number, number][] = [];
  for (const d of days) {
    const last = ranges[ranges.length - 1];
    if (last && last[1] === d.fromTime) last[1] = d.toTime;
    else ranges.push([d.fromTime, d.toTime]);
  }
  return ranges;
}
