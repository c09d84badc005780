import type { DayDuration, DayInterval } from "@agg/core";
import { CompiledQuery, type Kysely } from "kysely";
import { InvalidInputError } from "../invalid-input-error";
import type { Database, HeartbeatAttributeColumns } from "../schema";
import { dayDurationsSql } from "./day-durations-sql";

interface DurationRow extends HeartbeatAttributeColumns {
  readonly day_index: number;
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
  const [durations] = await loadUsersDayDurations(db, [{ userId, days, timeoutMs, withEntity }]);
  return durations!;
}

/** One user's question to {@link loadUsersDayDurations}: the arguments of `loadDayDurations`. */
export interface DayDurationsRequest {
  readonly userId: string;
  readonly days: readonly DayInterval[];
  readonly timeoutMs: number;
  readonly withEntity: boolean;
}

/**
 * `loadDayDurations` for several users in ONE query (each user with their own
 * days, timeout and entity choice): the nightly run asks for one day of many
 * users, where a round trip per user would cost more than the work.
 *
 * @returns per request, in order, its durations.
 * @throws {InvalidInputError} as `loadDayDurations`.
 */
export async function loadUsersDayDurations(
  db: Kysely<Database>,
  requests: readonly DayDurationsRequest[],
): Promise<DayDuration[][]> {
  for (const r of requests) validate(r.days, r.timeoutMs);
  const asked = requests.flatMap((r, k): AskedDurations[] => {
    const from = r.days[0]?.fromTime;
    const to = r.days[r.days.length - 1]?.toTime;
    if (from === undefined || to === undefined || from >= to) return [];
    return [
      {
        k,
        u: r.userId,
        lo: from,
        hi: to,
        starts: r.days.map((d) => d.fromTime),
        tmo: r.timeoutMs,
        ent: r.withEntity,
      },
    ];
  });
  const answers: DayDuration[][] = requests.map(emptyDurationList);
  if (asked.length === 0) return answers;
  for (const r of await queryDurations(db, asked)) {
    answers[r.k]!.push({
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
    });
  }
  return answers;
}

/**
 * An empty list already of the elements kind a list of objects has. V8 gives
 * `[]` a kind for small integers and changes it when the first object is
 * pushed, so a user without heartbeats in its days got a list of another
 * kind than everyone else's: the code V8 had optimised on a full run (whose
 * users all have rows) was thrown away the first time such a user came
 * through, in the first nightly run ("wrong map" in `--trace-deopt`, in this
 * function and in the callers iterating the list), and compiled again in the
 * next one (BENCHMARKS.md, stop 19).
 */
function emptyDurationList(): DayDuration[] {
  const list: (DayDuration | null)[] = [null];
  list.pop();
  return list as DayDuration[];
}

/** One user's request as the query reads it from its `jsonb` parameter. */
interface AskedDurations {
  readonly k: number;
  readonly u: string;
  readonly lo: number;
  readonly hi: number;
  readonly starts: readonly number[];
  readonly tmo: number;
  readonly ent: boolean;
}

async function queryDurations(
  db: Kysely<Database>,
  asked: readonly AskedDurations[],
): Promise<(DurationRow & { k: number })[]> {
  const query = CompiledQuery.raw(dayDurationsSql(), [JSON.stringify(asked)]);
  const { rows } = await db.executeQuery<DurationRow & { k: number }>(query);
  return rows;
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
