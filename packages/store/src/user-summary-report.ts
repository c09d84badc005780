import { addDays, isLocalDay, localDayOf, type SummaryItemType, startOfLocalDay } from "@agg/core";
import type { Kysely } from "kysely";
import { InvalidInputError } from "./invalid-input-error";
import { listSummaries } from "./repository/summary-repository";
import { loadUserSettings } from "./repository/user-repository";
import type { Database } from "./schema";

/** One stored day of a {@link UserSummaryReport}. */
export interface UserSummaryReportDay {
  /** The local day, `YYYY-MM-DD` in the user's zone. */
  readonly day: string;
  /** Start of the day as an ISO instant. */
  readonly from: string;
  /** End of the day (exclusive) as an ISO instant. */
  readonly to: string;
  readonly numHeartbeats: number;
  /** Sorted by type, then key; `total` in seconds. */
  readonly items: readonly { readonly type: SummaryItemType; readonly key: string; readonly total: number }[];
}

/**
 * A user's stored summaries for a range of local days, as `pnpm agg summary`
 * prints it and `<prefix>.summary` answers it. Days never summarised are absent.
 */
export interface UserSummaryReport {
  readonly user: string;
  /** The zone the days are local to (the user's `location`, `UTC` when unset or unknown). */
  readonly timeZone: string;
  readonly days: readonly UserSummaryReportDay[];
}

/**
 * The stored summaries of `userId` for the local days `fromDay..toDay`
 * (inclusive, in the user's own zone), shaped for output. Shared by the CLI
 * (reading the database itself) and the engine (answering over NATS), so both
 * print the same object.
 *
 * @returns null when the user does not exist.
 * @throws {InvalidInputError} when a day is not `YYYY-MM-DD` or `fromDay` is after `toDay`.
 * @example
 * ```ts
 * const report = await readUserSummaryReport(store.db, "alice", "2024-03-01", "2024-03-31");
 * // { user: "alice", timeZone: "Europe/Berlin", days: [{ day: "2024-03-01", from, to, numHeartbeats, items }] }
 * ```
 */
export async function readUserSummaryReport(
  db: Kysely<Database>,
  userId: string,
  fromDay: string,
  toDay: string,
): Promise<UserSummaryReport | null> {
  for (const [name, day] of [
    ["fromDay", fromDay],
    ["toDay", toDay],
  ] as const) {
    if (!isLocalDay(day))
      throw new InvalidInputError(`${name}: ${JSON.stringify(day)} is not a YYYY-MM-DD day`);
  }
  // YYYY-MM-DD compares chronologically as text.
  if (fromDay > toDay) throw new InvalidInputError(`fromDay ${fromDay} is after toDay ${toDay}`);

  const settings = await loadUserSettings(db, userId);
  if (!settings) return null;
  const zone = settings.timeZone;
  const stored = await listSummaries(
    db,
    userId,
    startOfLocalDay(fromDay, zone),
    startOfLocalDay(addDays(toDay, 1), zone),
  );
  return {
    user: userId,
    timeZone: zone,
    days: stored.map((s) => ({
      day: localDayOf(s.fromTime, zone),
      from: new Date(s.fromTime).toISOString(),
      to: new Date(s.toTime).toISOString(),
      numHeartbeats: s.numHeartbeats,
      items: s.items.map((i) => ({ type: i.type, key: i.key, total: i.total })),
    })),
  };
}
