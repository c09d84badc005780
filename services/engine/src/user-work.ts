import {
  addDays,
  createDayAggregator,
  type DayPlan,
  type DayRange,
  type DaySummary,
  planDays,
  startOfLocalDay,
  type UserSettings,
} from "@agg/core";
import type { UserJob } from "@agg/machines";
import {
  type Database,
  firstHeartbeatTime,
  latestSummaryFrom,
  loadUserSettings,
  replaceDays,
  streamHeartbeats,
} from "@agg/store";
import type { Kysely } from "kysely";

/** The I/O a user actor performs, wired to the store; the machine decides when. */
export interface UserWorkDeps {
  readonly db: Kysely<Database>;
  /** Injected clock, so "yesterday" is testable. */
  readonly now: () => number;
}

/** Days written per transaction: each day is still replaced atomically, fewer round trips. */
const DAYS_PER_WRITE = 31;

/** A plan, plus the settings it was made with (the aggregation needs them again). */
export type UserPlan = DayPlan & { readonly settings?: UserSettings };

/** Decides which days the job covers for this user. */
export async function planUserJob(deps: UserWorkDeps, job: UserJob): Promise<UserPlan> {
  const settings = await loadUserSettings(deps.db, job.userId);
  if (!settings) return { kind: "no-heartbeats" };
  const [first, latest] = await Promise.all([
    firstHeartbeatTime(deps.db, job.userId),
    job.mode === "missing" ? latestSummaryFrom(deps.db, job.userId) : Promise.resolve(null),
  ]);
  const plan = planDays({
    mode: job.mode,
    ...(job.from !== undefined ? { from: job.from } : {}),
    ...(job.to !== undefined ? { to: job.to } : {}),
    timeZone: settings.timeZone,
    nowMs: deps.now(),
    latestSummaryFrom: latest,
    firstHeartbeatTime: first,
  });
  return { ...plan, settings };
}

/**
 * Who writes: the fencing token of the user's lease, checked by PostgreSQL in the
 * write transaction, and a local check that the lease has not expired (a paused
 * process must not trust a lease it can no longer renew).
 */
export interface UserWriter {
  readonly fence: { readonly token: bigint; readonly holder: string };
  assertLeaseHeld(): void;
}

export interface AggregationProgress {
  readonly days: number;
  readonly heartbeats: number;
  /** The days written by the step that reported this progress. */
  readonly written: readonly DaySummary[];
}

/**
 * Streams the user's heartbeats of `range` through the core and replaces each
 * finished day. Memory holds one page of heartbeats and at most a month of days.
 */
export async function aggregateUserDays(
  deps: UserWorkDeps,
  job: UserJob,
  range: DayRange,
  settings: UserSettings | undefined,
  onProgress: (p: AggregationProgress) => void,
  signal: AbortSignal,
  writer?: UserWriter,
): Promise<AggregationProgress> {
  const user = settings ?? (await loadUserSettings(deps.db, job.userId));
  if (!user) throw new Error(`user ${job.userId} no longer exists`);
  const fromMs = startOfLocalDay(range.from, user.timeZone);
  const toMs = startOfLocalDay(addDays(range.to, 1), user.timeZone);
  const aggregator = createDayAggregator(user, range);
  let unwritten: DaySummary[] = [];
  let heartbeats = 0;
  let days = 0;

  const flush = async () => {
    if (unwritten.length === 0) return;
    signal.throwIfAborted();
    writer?.assertLeaseHeld();
    const writing = unwritten;
    unwritten = [];
    await replaceDays(deps.db, writing, writer ? { fence: writer.fence } : {});
    days += writing.length;
    onProgress({ days, heartbeats, written: writing });
  };

  for await (const page of streamHeartbeats(deps.db, job.userId, fromMs, toMs)) {
    signal.throwIfAborted();
    heartbeats += page.length;
    for (const hb of page) {
      const finished = aggregator.push(hb);
      for (const day of finished) unwritten.push(day);
    }
    if (unwritten.length >= DAYS_PER_WRITE) await flush();
  }
  for (const day of aggregator.finish()) unwritten.push(day);
  while (unwritten.length > 0) {
    const rest = unwritten.slice(DAYS_PER_WRITE);
    unwritten = unwritten.slice(0, DAYS_PER_WRITE);
    await flush();
    unwritten = rest;
  }
  return { days, heartbeats, written: [] };
}
