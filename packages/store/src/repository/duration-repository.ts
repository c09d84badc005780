import type { DayDuration, DayInterval } from "@agg/core";
import { type Kysely, sql } from "kysely";
import { InvalidInputError } from "../invalid-input-error";
import type { Database } from "../schema";

/** Local days per durations query when the caller does not say: a month, so a query stays a short range scan. */
export const DEFAULT_DAYS_PER_QUERY = 31;

interface DurationRow {
  readonly day_index: number;
  readonly project: string | null;
  readonly language: string | null;
  readonly editor: string | null;
  readonly operating_system: string | null;
  readonly machine: string | null;
  readonly category: string | null;
  readonly entity: string | null;
  readonly credited_ms: number;
  readonly heartbeats: number;
}

/**
 * A user's credited time on `days`, summed by PostgreSQL per (day, attribute
 * combination): one range scan over `(user_id, time)`, a window per day for the
 * gap to the next heartbeat, one GROUP BY. A few rows per day cross the wire
 * instead of every heartbeat; `summarizeDurations` (@agg/core) turns them into
 * summaries.
 *
 * What stays in the core: where days start (`days` carries the zone's
 * midnights, so DST needs nothing here), keys, language mappings, exclusion
 * and flooring. What happens here is exactly SEMANTICS.md's crediting:
 *
 * - a heartbeat belongs to the day whose `[fromTime, toTime)` holds it
 *   (`width_bucket` over the day starts);
 * - within a day, by `(time, id)`, each heartbeat is credited with the gap to
 *   the next one when the gap is below `timeoutMs`; the day's last earns 0;
 * - gaps are measured between epoch milliseconds floored from `time` (as the
 *   driver's `Date`s are), computed with integer arithmetic only, so the result
 *   is exact on every PostgreSQL version (`extract(epoch ...)` is a float before 14).
 *
 * @param withEntity return each row's entity (needed for language mappings;
 *   it multiplies the rows, so ask only when the user has mappings).
 * @throws {InvalidInputError} on days that are not contiguous or a bad timeout.
 *
 * @example
 * ```ts
 * const days = dayIntervals({ from: "2025-01-01", to: "2025-01-31" }, settings.timeZone);
 * const summaries = summarizeDurations(settings, days, await loadDayDurations(db, "alice", days, settings.timeoutMs, false));
 * ```
 */
export async function loadDayDurations(
  db: Kysely<Database>,
  userId: string,
  days: readonly DayInterval[],
  timeoutMs: number,
  withEntity: boolean,
): Promise<DayDuration[]> {
  validate(days, timeoutMs);
  if (days.length === 0) return [];
  const from = days[0]!.fromTime;
  const to = days[days.length - 1]!.toTime;
  if (from >= to) return [];
  const starts = `{${days.map((d) => d.fromTime).join(",")}}`;
  const { rows } = await sql<DurationRow>`
    with hb as (
      select width_bucket(t.ms, cast(${starts} as int8[])) - 1 as day_index, t.ms, h.time, h.id,
        h.project, h.language, h.editor, h.operating_system, h.machine, h.category,
        case when cast(${withEntity} as boolean) then h.entity end as entity
      from heartbeats h
      cross join lateral (
        select extract(epoch from date_trunc('second', h.time))::int8 * 1000
          + (extract(microseconds from h.time)::int8 % 1000000) / 1000 as ms
      ) t
      where h.user_id = ${userId} and h.time >= ${new Date(from)} and h.time < ${new Date(to)}
    ),
    credited as (
      select hb.*, lead(hb.ms) over (partition by hb.day_index order by hb.time, hb.id) - hb.ms as gap
      from hb
    )
    select day_index, project, language, editor, operating_system, machine, category, entity,
      sum(case when gap < ${timeoutMs} then gap else 0 end)::float8 as credited_ms,
      count(*)::int4 as heartbeats
    from credited
    group by day_index, project, language, editor, operating_system, machine, category, entity`.execute(db);
  return rows.map((r) => ({
    dayIndex: r.day_index,
    project: r.project,
    language: r.language,
    editor: r.editor,
    operatingSystem: r.operating_system,
    machine: r.machine,
    category: r.category,
    entity: r.entity,
    creditedMs: r.credited_ms,
    heartbeats: r.heartbeats,
  }));
}

function validate(days: readonly DayInterval[], timeoutMs: number): void {
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) {
    throw new InvalidInputError(`timeoutMs must be a positive integer, got ${timeoutMs}`);
  }
  for (let i = 0; i < days.length; i++) {
    const d = days[i]!;
    if (!Number.isSafeInteger(d.fromTime) || !Number.isSafeInteger(d.toTime) || d.toTime < d.fromTime) {
      throw new InvalidInputError(`day ${d.day} has a bad interval [${d.fromTime}, ${d.toTime})`);
    }
    if (i > 0 && d.fromTime !== days[i - 1]!.toTime) {
      throw new InvalidInputError(
        `days must be contiguous: ${days[i - 1]!.day} does not end where ${d.day} starts`,
      );
    }
  }
}
