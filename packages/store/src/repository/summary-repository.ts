import type { DaySummary, SummaryItem, SummaryItemType } from "@agg/core";
import type { Kysely } from "kysely";
import type { FencedOutError } from "../fenced-out-error";
import { InvalidInputError } from "../invalid-input-error";
import type { Database } from "../schema";
import { toEpochMs, toNumber } from "../timestamp";
import { describeRefusals, type Fence, fenceTokenText } from "./fence-repository";
import { callReplaceUserDays } from "./replace-user-days-call";

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
 * `replaceDay` for many days of ONE user in one transaction and one round trip
 * (see `replaceUsersDays`): much faster when writing a month at a time. Each
 * day is still replaced as a whole; the days must not overlap.
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
  const [outcome] = await replaceUsersDays(db, [{ days: summaries, ...opts }]);
  if (outcome) throw outcome;
}

/** One user's days for {@link replaceUsersDays}. */
export interface UserDaysWrite extends ReplaceDaysOptions {
  /** Days of ONE user, not overlapping. */
  readonly days: readonly DaySummary[];
  /**
   * The job this write finishes: its `agg_batch_users` row becomes `done` in
   * the same transaction (if still `pending`), so the days and the outcome are
   * durable together and need no statement of their own.
   */
  readonly completes?: { readonly batchId: string; readonly instance: string } | undefined;
}

/** How one {@link UserDaysWrite} went (see {@link writeUsersDays}). */
export interface UserDaysWritten {
  /** Set when the write's fence was refused: nothing of it was written. */
  readonly refused: FencedOutError | null;
  /** Whether its `completes` job was recorded `done` by this write (false when not asked, or no longer pending). */
  readonly completed: boolean;
}

/**
 * `replaceDays` for several users in ONE round trip (`agg_replace_user_days`,
 * one implicit transaction): every user's summaries lock, every fence, one
 * delete, one insert of all days and items. Each user's days are still
 * replaced atomically and under that user's lock; a user whose fence is
 * refused is left out (nothing of theirs written) and answered with a
 * `FencedOutError`, while the others are written.
 *
 * Locks are taken in user id order, so two such calls cannot wait on each
 * other in a cycle (barring a hash collision of two ids, which PostgreSQL
 * reports as a deadlock: the caller retries).
 *
 * @returns per write, in order: null when written, or the `FencedOutError`.
 * @throws {InvalidInputError} when a write mixes users or overlaps, or two writes share a user.
 */
export async function replaceUsersDays(
  db: Kysely<Database>,
  writes: readonly UserDaysWrite[],
): Promise<(FencedOutError | null)[]> {
  return (await writeUsersDays(db, writes)).map((w) => w.refused);
}

/**
 * {@link replaceUsersDays}, also telling for each write whether it recorded
 * the job it `completes`.
 * @throws {InvalidInputError} see `replaceUsersDays`.
 */
export async function writeUsersDays(
  db: Kysely<Database>,
  writes: readonly UserDaysWrite[],
): Promise<UserDaysWritten[]> {
  const prepared = writes.map((w) => {
    const days = [...w.days].sort((a, b) => a.fromTime - b.fromTime);
    return { days, userId: days.length > 0 ? validate(days) : null, fence: w.fence, completes: w.completes };
  });
  const byUser = new Map<string, (typeof prepared)[number]>();
  for (const w of prepared) {
    if (w.userId === null) continue;
    if (byUser.has(w.userId)) throw new InvalidInputError(`user ${w.userId} appears in two writes`);
    byUser.set(w.userId, w);
  }
  if (byUser.size === 0) return prepared.map(() => ({ refused: null, completed: false }));
  const userIds = [...byUser.keys()].sort();
  const writing = userIds.map((id) => byUser.get(id)!);
  const claims = writing.flatMap((w) =>
    w.fence ? [{ u: w.userId!, t: fenceTokenText(w.fence.token), h: w.fence.holder }] : [],
  );
  const ranges = writing.flatMap((w) =>
    mergeAdjacent(w.days).map(([from, to]) => ({ u: w.userId!, from, to })),
  );
  const completions = writing.flatMap((w) =>
    w.completes ? [{ b: w.completes.batchId, u: w.userId!, i: w.completes.instance }] : [],
  );
  const { refused: refusedIds, completed: completedIds } = await callReplaceUserDays(db, {
    lockUsers: userIds,
    claims,
    ranges,
    daysJson: daysPayload(writing.flatMap((w) => w.days)),
    completions,
  });
  const refused = await describeRefusals(
    db,
    claims.filter((c) => refusedIds.has(c.u)),
  );
  return prepared.map((w) =>
    w.userId === null
      ? { refused: null, completed: false }
      : { refused: refused.get(w.userId) ?? null, completed: completedIds.has(w.userId) },
  );
}

/** The days and their items as `agg_replace_user_days` takes them; times as epoch ms. */
function daysPayload(days: readonly DaySummary[]): string {
  return JSON.stringify(
    days.map((d) => ({
      u: d.userId,
      f: d.fromTime,
      t: d.toTime,
      n: d.numHeartbeats,
      i: d.items.map((item) => [item.type, item.key, item.total]),
    })),
  );
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
