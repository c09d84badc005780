import { addDays } from "./local-day";
import { localDayOf, startOfLocalDay } from "./time-zone";
import type { LocalDay } from "./types";

/** One zone's nightly run: the `missing` batch for its users, shortly after their local midnight. */
export interface ZoneRun {
  readonly timeZone: string;
  /** The local day that just began; the run summarises the day before it. */
  readonly day: LocalDay;
  /** Epoch ms when the run is due: the day's first local instant plus the offset. */
  readonly dueAt: number;
}

/**
 * The run of `timeZone` for its current local day, and whether it is due. A run
 * is due from `offsetMs` after local midnight for the rest of that local day,
 * so a cluster that was down at midnight catches up when it comes back.
 *
 * @example
 * ```ts
 * currentZoneRun("Asia/Kolkata", Date.parse("2025-03-10T00:00:00Z"), 15 * 60_000);
 * // { timeZone: "Asia/Kolkata", day: "2025-03-10", dueAt: Date.parse("2025-03-09T18:45:00Z") }
 * ```
 */
export function currentZoneRun(timeZone: string, nowMs: number, offsetMs: number): ZoneRun {
  const day = localDayOf(nowMs, timeZone);
  return { timeZone, day, dueAt: startOfLocalDay(day, timeZone) + offsetMs };
}

/** The zone runs due at `nowMs` that `alreadyRun(zone, day)` says have not happened yet. */
export function dueZoneRuns(
  timeZones: Iterable<string>,
  nowMs: number,
  offsetMs: number,
  alreadyRun: (timeZone: string, day: LocalDay) => boolean,
): ZoneRun[] {
  const due: ZoneRun[] = [];
  for (const zone of new Set(timeZones)) {
    const run = currentZoneRun(zone, nowMs, offsetMs);
    if (nowMs >= run.dueAt && !alreadyRun(zone, run.day)) due.push(run);
  }
  return due;
}

/** The next run of each zone after `nowMs` (today's if still ahead, else tomorrow's), soonest first. */
export function nextZoneRuns(timeZones: Iterable<string>, nowMs: number, offsetMs: number): ZoneRun[] {
  const runs: ZoneRun[] = [];
  for (const zone of new Set(timeZones)) {
    const today = currentZoneRun(zone, nowMs, offsetMs);
    if (today.dueAt > nowMs) {
      runs.push(today);
    } else {
      const day = addDays(today.day, 1);
      runs.push({ timeZone: zone, day, dueAt: startOfLocalDay(day, zone) + offsetMs });
    }
  }
  return runs.sort((a, b) => a.dueAt - b.dueAt || a.timeZone.localeCompare(b.timeZone));
}
