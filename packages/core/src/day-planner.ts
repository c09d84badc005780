/**
 * Which days one user's part of a request summarises (SEMANTICS.md, "Which
 * days a request summarises"; CONTRACT.md, `agg.request`).
 */
import { InvalidDayError } from "./errors";
import { addDays, compareDays, daysBetween, isLocalDay } from "./local-day";
import { localDayOf, yesterdayIn } from "./time-zone";
import type { AggregationMode, DayRange, LocalDay } from "./types";

/** What {@link planDays} needs to know about one user and one request. */
export interface DayPlanInput {
  readonly mode: AggregationMode;
  /** The request's inclusive first day, in the user's zone. */
  readonly from?: LocalDay | undefined;
  /** The request's inclusive last day, in the user's zone; clamped to yesterday. */
  readonly to?: LocalDay | undefined;
  /** The user's resolved zone. */
  readonly timeZone: string;
  /** The current instant (injected, so plans are testable). */
  readonly nowMs: number;
  /** `from_time` (epoch ms) of the user's latest summary, or null when they have none. */
  readonly latestSummaryFrom: number | null;
  /** `time` (epoch ms) of the user's first heartbeat, or null when they have none. */
  readonly firstHeartbeatTime: number | null;
}

/**
 * The outcome of planning one user:
 * - `no-heartbeats`: the user has no heartbeats at all; skip them (not a failure).
 * - `up-to-date`: nothing to summarise (the range is empty after clamping).
 * - `days`: summarise `range` (inclusive), which holds `days` calendar days
 *   (a day the zone skipped, like Pacific/Apia 2011-12-30, is counted here but
 *   gets no summary).
 */
export type DayPlan =
  | { readonly kind: "no-heartbeats" }
  | { readonly kind: "up-to-date" }
  | { readonly kind: "days"; readonly range: DayRange; readonly days: number };

const NO_HEARTBEATS: DayPlan = Object.freeze({ kind: "no-heartbeats" });
const UP_TO_DATE: DayPlan = Object.freeze({ kind: "up-to-date" });

function checkDay(day: LocalDay | undefined): LocalDay | undefined {
  if (day !== undefined && !isLocalDay(day)) throw new InvalidDayError(day);
  return day;
}

/**
 * Plans the days to summarise for one user.
 *
 * The last day is `min(to ?? yesterday, yesterday)` in the user's zone: an
 * incomplete day is never summarised. The first day is, in `missing` mode,
 * the day after the latest summary's day (or the first heartbeat's day when
 * there is no summary), raised to `from` when given; in `regenerate` mode,
 * `from` or else the first heartbeat's day.
 *
 * @example
 * planDays({ mode: "missing", timeZone: "UTC", nowMs: Date.UTC(2025, 0, 10, 12),
 *            latestSummaryFrom: Date.UTC(2025, 0, 5), firstHeartbeatTime: Date.UTC(2024, 5, 1) });
 * // { kind: "days", range: { from: "2025-01-06", to: "2025-01-09" }, days: 4 }
 * @throws {InvalidDayError} when `from` or `to` is not a `YYYY-MM-DD` day.
 */
export function planDays(input: DayPlanInput): DayPlan {
  const from = checkDay(input.from);
  const to = checkDay(input.to);
  if (input.firstHeartbeatTime === null || input.firstHeartbeatTime === undefined) return NO_HEARTBEATS;
  const { timeZone } = input;

  const yesterday = yesterdayIn(timeZone, input.nowMs);
  const end = to !== undefined && compareDays(to, yesterday) < 0 ? to : yesterday;

  let start: LocalDay;
  if (input.mode === "regenerate") {
    start = from ?? localDayOf(input.firstHeartbeatTime, timeZone);
  } else {
    start =
      input.latestSummaryFrom !== null && input.latestSummaryFrom !== undefined
        ? addDays(localDayOf(input.latestSummaryFrom, timeZone), 1)
        : localDayOf(input.firstHeartbeatTime, timeZone);
    if (from !== undefined && compareDays(from, start) > 0) start = from;
  }

  if (compareDays(start, end) > 0) return UP_TO_DATE;
  return Object.freeze({
    kind: "days",
    range: Object.freeze({ from: start, to: end }),
    days: daysBetween(start, end) + 1,
  });
}
