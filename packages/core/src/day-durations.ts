/**
 * Summaries from *durations*: the credited time of one user already summed per
 * (day, attribute combination), which is what a database can compute next to
 * the heartbeats (a window over each day, then a GROUP BY), so that a few rows
 * per day cross the wire instead of every heartbeat.
 *
 * The zone arithmetic (where days start), the keys, the language mappings, the
 * exclusion of unknown projects and the per-key flooring stay here, in one
 * place: the database only credits gaps within the days it is given. The
 * streaming reducer (`createDayAggregator`) remains the specification; the
 * tests hold this path equal to it.
 */
import { SUMMARY_ITEM_TYPES, UNKNOWN_KEY } from "./day-aggregator";
import { InvalidDayRangeError } from "./errors";
import { createLanguageResolver } from "./extension";
import { addDays, compareDays } from "./local-day";
import { startOfLocalDay } from "./time-zone";
import type { DayRange, DaySummary, HeartbeatAttributes, LocalDay, SummaryItem, UserSettings } from "./types";

/** One local day and its half-open interval `[fromTime, toTime)` in epoch ms. */
export interface DayInterval {
  readonly day: LocalDay;
  readonly fromTime: number;
  readonly toTime: number;
}

/**
 * The credit of one attribute combination on one day: every heartbeat of the
 * day with exactly these attributes, each credited with the gap to the next
 * heartbeat of the same day (SEMANTICS.md), summed.
 */
export interface DayDuration extends HeartbeatAttributes {
  /** Index into the day intervals the durations were computed for. */
  readonly dayIndex: number;
  /**
   * The entity, when the user has language mappings (they depend on it);
   * `null` otherwise, so that rows differing only in entity are summed together.
   */
  readonly entity: string | null;
  /** Sum of the credits in ms (gaps measured between floored epoch ms). */
  readonly creditedMs: number;
  /** How many heartbeats the combination had that day. */
  readonly heartbeats: number;
}

/**
 * The local days of `range` in `timeZone`, in order, with their intervals.
 * A day that does not exist in the zone (Pacific/Apia 2011-12-30) has an
 * empty interval; it is listed (so indexes stay one per day) and never summarised.
 *
 * @throws {InvalidDayRangeError} when `range.from` is after `range.to`.
 */
export function dayIntervals(range: DayRange, timeZone: string): DayInterval[] {
  if (compareDays(range.from, range.to) > 0) throw new InvalidDayRangeError(range.from, range.to);
  const days: DayInterval[] = [];
  let day = range.from;
  let fromTime = startOfLocalDay(day, timeZone);
  for (;;) {
    const next = addDays(day, 1);
    const toTime = startOfLocalDay(next, timeZone);
    days.push({ day, fromTime, toTime });
    if (day === range.to) return days;
    day = next;
    fromTime = toTime;
  }
}

/**
 * The summaries of `days` from their durations: exactly what the streaming
 * reducer emits for the same heartbeats (every existing day, empty ones with no
 * items; items by type, then key in code-unit order; totals floored per key).
 *
 * @param rows durations whose `dayIndex` points into `days`, in any order.
 * @throws {RangeError} when a row's `dayIndex` is outside `days`.
 */
export function summarizeDurations(
  settings: UserSettings,
  days: readonly DayInterval[],
  rows: Iterable<DayDuration>,
): DaySummary[] {
  const resolveLanguage =
    settings.languageMappings.length > 0 ? createLanguageResolver(settings.languageMappings) : null;
  const perDay: (DayTotals | undefined)[] = new Array(days.length);
  for (const row of rows) {
    if (!Number.isInteger(row.dayIndex) || row.dayIndex < 0 || row.dayIndex >= days.length) {
      throw new RangeError(`duration of day index ${row.dayIndex} is outside the ${days.length} days given`);
    }
    // Excluded heartbeats separated the others' gaps already; their own credit is lost.
    if (settings.excludeUnknownProjects && !row.project) continue;
    let totals = perDay[row.dayIndex];
    if (!totals) {
      totals = new DayTotals();
      perDay[row.dayIndex] = totals;
    }
    const language = resolveLanguage ? resolveLanguage(row.entity, row.language) : row.language;
    totals.add(row, language);
  }
  const summaries: DaySummary[] = [];
  for (let i = 0; i < days.length; i++) {
    const { day, fromTime, toTime } = days[i]!;
    if (toTime <= fromTime) continue;
    const totals = perDay[i];
    summaries.push(
      Object.freeze({
        userId: settings.userId,
        day,
        fromTime,
        toTime,
        numHeartbeats: totals?.heartbeats ?? 0,
        items: Object.freeze(totals ? totals.items() : []),
      }),
    );
  }
  return summaries;
}

/** One day's sums per type and key, in ms, while durations are added. */
class DayTotals {
  heartbeats = 0;
  /** In SUMMARY_ITEM_TYPES order. */
  private readonly byType: Map<string, number>[] = SUMMARY_ITEM_TYPES.map(() => new Map());

  add(row: DayDuration, language: string | null): void {
    this.heartbeats += row.heartbeats;
    const ms = row.creditedMs;
    const keys = [row.project, language, row.editor, row.operatingSystem, row.machine, row.category];
    for (let t = 0; t < keys.length; t++) {
      const key = keys[t] || UNKNOWN_KEY;
      const totals = this.byType[t]!;
      totals.set(key, (totals.get(key) ?? 0) + ms);
    }
  }

  items(): SummaryItem[] {
    const items: SummaryItem[] = [];
    for (let t = 0; t < SUMMARY_ITEM_TYPES.length; t++) {
      const type = SUMMARY_ITEM_TYPES[t]!;
      const totals = this.byType[t]!;
      for (const key of [...totals.keys()].sort()) {
        // Floored per key, after summing in ms (SEMANTICS.md).
        items.push(Object.freeze({ type, key, total: Math.floor(totals.get(key)! / 1000) }));
      }
    }
    return items;
  }
}
