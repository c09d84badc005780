import {
  type AggregationMode,
  type DayPlan,
  type DayRange,
  type DaySummary,
  dayIntervals,
  planDays,
  summarizeDurations,
  type UserSettings,
} from "@agg/core";
import type { JobPlan, PlannedDays, UserJob } from "@agg/machines";
import { loadUserSettings, type UserPlanInputs } from "@agg/store";
import type { UserStore } from "./user-store";

/** The I/O a user actor performs, wired to the store; the machine decides when. */
export interface UserWorkDeps {
  readonly store: UserStore;
  /** Injected clock, so "yesterday" is testable. */
  readonly now: () => number;
}

/** Days summed per query and written per transaction: each day is still replaced atomically. */
const DAYS_PER_WRITE = 31;

/** A plan, plus the settings it was made with (the aggregation needs them again). */
export type UserPlan = DayPlan & { readonly settings?: UserSettings };

/** Decides which days the job covers for this user. */
export async function planUserJob(deps: UserWorkDeps, job: UserJob): Promise<UserPlan> {
  return planFromInputs(await deps.store.planInputs(job.userId, job.batchId), job, deps.now());
}

/**
 * The job with its days planned now, from what its batch's triage read, when
 * that is still kept (no I/O): the actor then skips planning. Undefined when
 * nothing is kept, or when the plan has no days to write (rare: the day turned
 * since triage); the actor then plans as usual, reading the user afresh (kept
 * inputs are used once). The settings the plan was made with come along.
 */
export function planAhead(
  deps: UserWorkDeps,
  job: UserJob,
): { job: UserJob; settings: UserSettings } | undefined {
  const inputs = deps.store.keptPlanInputs(job.userId, job.batchId);
  if (!inputs) return undefined;
  const plan = planFromInputs(inputs, job, deps.now());
  if (plan.kind !== "days") return undefined;
  return { job: withPlannedDays(job, { days: plan.days, range: plan.range }), settings: inputs.settings };
}

/**
 * `job` carrying `plannedDays`, as a fresh literal built the way `jobsOf`
 * builds jobs (`from` and `to` always present, maybe undefined): every
 * planned job has one hidden class, whatever object it was made from and
 * whatever its request bounded.
 */
export function withPlannedDays(job: UserJob, plannedDays: PlannedDays): UserJob {
  return {
    jobId: job.jobId,
    batchId: job.batchId,
    userId: job.userId,
    mode: job.mode,
    from: job.from,
    to: job.to,
    plannedDays,
  };
}

/** What a request asks of one user, for planning. */
export interface PlanRequest {
  readonly mode: AggregationMode;
  readonly from?: string | undefined;
  readonly to?: string | undefined;
}

/**
 * The plan for one user from what the store knows of them (`null`: the user
 * does not exist, which plans like a user without heartbeats). The one place
 * a request becomes a user's days, used by the actor and by batch triage.
 */
export function planFromInputs(inputs: UserPlanInputs | null, request: PlanRequest, nowMs: number): UserPlan {
  if (!inputs) return { kind: "no-heartbeats" };
  const { settings } = inputs;
  const plan = planDays({
    mode: request.mode,
    ...(request.from !== undefined ? { from: request.from } : {}),
    ...(request.to !== undefined ? { to: request.to } : {}),
    timeZone: settings.timeZone,
    nowMs,
    latestSummaryFrom: request.mode === "missing" ? inputs.latestSummaryFrom : null,
    firstHeartbeatTime: inputs.firstHeartbeatTime,
  });
  return { ...plan, settings };
}

/**
 * The machine's view of a plan: its verdict without the settings. Built as a
 * fresh literal of one shape per kind (not by rest-spreading the plan), so the
 * warm-up's plans and the real ones look alike to V8 (see `warm-up.ts`).
 */
export function jobPlanOf(plan: UserPlan): JobPlan {
  return plan.kind === "days" ? { kind: "days", days: plan.days, range: plan.range } : { kind: plan.kind };
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

/**
 * Whether the aggregation should stop (its actor left the state that runs it).
 * A flag rather than an `AbortSignal`: every user job makes one, and an
 * `AbortController` cost a signal per job and, on `abort()`, a `DOMException`
 * with a stack trace (2 % of a nightly run's CPU).
 */
export interface Cancellation {
  readonly cancelled: boolean;
}

/** Thrown out of an aggregation that noticed its cancellation. */
export class AggregationCancelledError extends Error {
  readonly code = "CANCELLED";
}

export interface AggregationProgress {
  readonly days: number;
  readonly heartbeats: number;
  /** The days written by the step that reported this progress. */
  readonly written: readonly DaySummary[];
  /**
   * Set on the result when the last write was asked to record the job `done`
   * in its batch's ledger (with a `writer`, and days to write): whether it did
   * (false: the job's row was no longer pending). Unset, the ledger is still
   * to be told.
   */
  readonly completed?: boolean;
}

/**
 * Summarises the user's days of `range`, a month at a time: PostgreSQL credits
 * the heartbeats and sums them per day and attribute combination
 * (`loadDayDurations`), the core turns those sums into summaries, and each
 * month is written in one fenced transaction. Memory holds one month of sums,
 * however many heartbeats the user has. With a `writer` (the engine), the last
 * month's transaction also records the job done in its batch's ledger, so the
 * outcome costs no statement of its own.
 */
export async function aggregateUserDays(
  deps: UserWorkDeps,
  job: UserJob,
  range: DayRange,
  settings: UserSettings | undefined,
  onProgress: (p: AggregationProgress) => void,
  cancellation: Cancellation,
  writer?: UserWriter,
): Promise<AggregationProgress> {
  const user = settings ?? (await loadUserSettings(deps.store.db, job.userId));
  if (!user) throw new Error(`user ${job.userId} no longer exists`);
  const allDays = dayIntervals(range, user.timeZone);
  const byEntity = user.languageMappings.length > 0;
  let heartbeats = 0;
  let days = 0;
  let completed: boolean | undefined;
  for (let i = 0; i < allDays.length; i += DAYS_PER_WRITE) {
    throwIfCancelled(cancellation);
    const month = allDays.slice(i, i + DAYS_PER_WRITE);
    const durations = await deps.store.dayDurations({
      userId: job.userId,
      days: month,
      timeoutMs: user.timeoutMs,
      withEntity: byEntity,
    });
    for (const d of durations) heartbeats += d.heartbeats;
    const written = summarizeDurations(user, month, durations);
    throwIfCancelled(cancellation);
    writer?.assertLeaseHeld();
    const last = i + DAYS_PER_WRITE >= allDays.length;
    const completes =
      writer && last && written.length > 0
        ? { batchId: job.batchId, instance: writer.fence.holder }
        : undefined;
    const recorded = await deps.store.writeDays({
      days: written,
      ...(writer ? { fence: writer.fence } : {}),
      ...(completes ? { completes } : {}),
    });
    if (completes) completed = recorded;
    days += written.length;
    onProgress({ days, heartbeats, written });
  }
  return { days, heartbeats, written: [], ...(completed === undefined ? {} : { completed }) };
}

function throwIfCancelled(cancellation: Cancellation): void {
  if (cancellation.cancelled) throw new AggregationCancelledError("aggregation cancelled");
}
