import type { AggregationMode, DayRange, LocalDay } from "@agg/core";
import { assign, type EventObject, fromCallback, fromPromise, type SnapshotFrom, setup } from "xstate";
import { NotProvidedError } from "./not-provided-error";

/** One unit of work for one user: what the engine takes off its job stream. */
export interface UserJob {
  readonly jobId: string;
  readonly batchId: string;
  readonly userId: string;
  readonly mode: AggregationMode;
  /** First local day to consider (inclusive); the planner picks one when absent. */
  readonly from?: LocalDay;
  /** Last local day to consider (inclusive); the planner clamps it to the user's yesterday. */
  readonly to?: LocalDay;
  /**
   * The days to write, when the job was planned before it reached its actor
   * (a batch's triage plans every user at acceptance): the actor then goes
   * straight to aggregating, without invoking `planJob`.
   */
  readonly plannedDays?: PlannedDays;
}

/** A plan's days: how many, and the range they span. */
export interface PlannedDays {
  readonly days: number;
  readonly range: DayRange;
}

/** How a job ended, as its batch counts it. */
export type UserOutcome = "done" | "failed" | "skipped";

/** What `createActor(userAggregatorMachine, { input })` needs. */
export interface UserAggregatorInput {
  readonly userId: string;
  /** How long an actor with nothing queued stays alive before it passivates (closes). */
  readonly passivateAfterMs: number;
  /** How long one job may take (planning + aggregating), and how long reporting its outcome may take. */
  readonly jobTimeoutMs: number;
  /**
   * Jobs the actor starts with, as if each had been received (`JOB_RECEIVED`):
   * a new actor begins its first job at once, without an event per job. Jobs
   * for another user, and repeats of a job id, are left out as the event's
   * guard would.
   */
  readonly jobs?: readonly UserJob[];
}

/** The injected planner's verdict on a job. */
export type JobPlan =
  | { readonly kind: "no-heartbeats" }
  | { readonly kind: "up-to-date" }
  | { readonly kind: "days"; readonly days: number; readonly range: DayRange };

/** Input of the injected `planJob` actor. */
export interface PlanJobInput {
  readonly job: UserJob;
}

/** Input of the injected `aggregateDays` actor. */
export interface AggregateDaysInput {
  readonly job: UserJob;
  readonly range: DayRange;
}

/** Input of the injected `reportOutcome` actor: enough to ack the job and tell the coordinator. */
export interface ReportOutcomeInput {
  readonly job: UserJob;
  readonly outcome: UserOutcome;
  readonly reason?: string;
  readonly daysWritten: number;
  readonly heartbeatsRead: number;
}

/**
 * Params of the injected `closeJobChannel` action: the work this actor will
 * never finish, so the engine can hand it back (nak / requeue).
 */
export interface CloseJobChannelParams {
  readonly userId: string;
  /** Why the actor closed: `passivated`, the `CANCEL` reason, or `report-failed` / `report-timeout`. */
  readonly reason: string;
  /** The job in flight when the actor closed; its outcome was not reported. */
  readonly currentJob: UserJob | null;
  /** Jobs received but not started. */
  readonly queuedJobs: readonly UserJob[];
}

/** A job arrived on this user's channel. Duplicates (same `jobId`) and other users' jobs are ignored. */
export interface JobReceivedEvent {
  readonly type: "JOB_RECEIVED";
  readonly job: UserJob;
}

/**
 * Sent by `aggregateDays` for each day it wrote (atomically), except the days
 * of its last write, which `AGGREGATION_FINISHED` carries.
 */
export interface DayPersistedEvent {
  readonly type: "DAY_PERSISTED";
  readonly day: LocalDay;
  readonly heartbeats: number;
}

/**
 * Sent by `aggregateDays` when every planned day is written. It carries the
 * days of the last write (a nightly job's only write: one event instead of two).
 */
export interface AggregationFinishedEvent {
  readonly type: "AGGREGATION_FINISHED";
  /** Days the last write wrote, not announced by `DAY_PERSISTED`. */
  readonly days?: number;
  /** Heartbeats those days summarise. */
  readonly heartbeats?: number;
  /**
   * True when the last write also recorded the job `done` in its batch's
   * ledger: the outcome is durable already, so what is left is telling
   * (`announceOutcome`), not a step that can fail or take time.
   */
  readonly outcomeRecorded?: boolean;
}

/** Sent by `aggregateDays` when it gave up. */
export interface AggregationFailedEvent {
  readonly type: "AGGREGATION_FAILED";
  readonly error: unknown;
}

/** Stop now, whatever the actor is doing (engine shutdown, lost lease). */
export interface CancelEvent {
  readonly type: "CANCEL";
  readonly reason: "shutdown" | "lease-lost" | (string & {});
}

/** What the injected `aggregateDays` actor may send back to its parent. */
export type AggregateDaysEvent = DayPersistedEvent | AggregationFinishedEvent | AggregationFailedEvent;

/** Every event the user aggregator understands. */
export type UserAggregatorEvent = JobReceivedEvent | AggregateDaysEvent | CancelEvent;

/** The outcome decided for the current job, waiting to be reported. */
export interface PendingOutcome {
  readonly outcome: UserOutcome;
  readonly reason?: string;
}

/** The user aggregator's context; also what an inspector shows for it. */
export interface UserAggregatorContext {
  readonly userId: string;
  readonly passivateAfterMs: number;
  readonly jobTimeoutMs: number;
  /** The job being planned, aggregated or reported; `null` while idle. */
  readonly currentJob: UserJob | null;
  /** Jobs received and not started, oldest first: the rest of the job channel. */
  readonly queue: readonly UserJob[];
  /** Days the current job's plan covers (`null` before planning finished). */
  readonly range: DayRange | null;
  readonly daysDone: number;
  readonly daysTotal: number;
  readonly heartbeatsRead: number;
  /** The current job's outcome once decided, until it is reported. */
  readonly outcome: PendingOutcome | null;
  /** Jobs whose outcome was reported over the actor's life. */
  readonly jobsFinished: number;
  readonly lastError: string | null;
  /** Set on the way to `closed`. */
  readonly closeReason: string | null;
}

/** What a closed user aggregator returns (`snapshot.output`). */
export interface UserAggregatorOutput {
  readonly userId: string;
  readonly closeReason: string;
  readonly jobsFinished: number;
}

export type UserAggregatorSnapshot = SnapshotFrom<typeof userAggregatorMachine>;

/**
 * One actor per user with work to do. Its queue is the user's job channel:
 * jobs run one at a time (single flight), and the channel is closed in exactly
 * one place, the entry of the final state `closed`, on every path there
 * (passivation, `CANCEL`, a failed report). Wakapi #754 closed a shared job
 * channel from every worker; here no transition but one can close it.
 *
 * A job's outcome is reported (`reportingOutcome`, which waits for the
 * ledger) unless the job's last write already recorded it: then the actor
 * only announces it (`announceOutcome`) and goes back to `idle`. A job that
 * arrives planned (`plannedDays`) skips `planning`, so a nightly job costs one
 * event (its finish) and one invoked actor (the writer).
 *
 * The engine supplies the I/O:
 *
 * @example
 * ```ts
 * const actor = createActor(
 *   userAggregatorMachine.provide({
 *     actors: { planJob, aggregateDays, reportOutcome },
 *     actions: {
 *       closeJobChannel: (_, { currentJob, queuedJobs }) => handBack(currentJob, queuedJobs),
 *       announceOutcome: (_, outcome) => ackAndTell(outcome),
 *     },
 *   }),
 *   { input: { userId: "alice", passivateAfterMs: 30_000, jobTimeoutMs: 600_000, jobs: [job] } },
 * ).start();
 * actor.send({ type: "JOB_RECEIVED", job: nextJob });
 * ```
 */
export const userAggregatorMachine = setup({
  types: {
    context: {} as UserAggregatorContext,
    events: {} as UserAggregatorEvent,
    input: {} as UserAggregatorInput,
    output: {} as UserAggregatorOutput,
  },
  actors: {
    planJob: fromPromise<JobPlan, PlanJobInput>(async () => {
      throw new NotProvidedError("actor", "planJob");
    }),
    /**
     * Writes the planned days. Stopping it (its cleanup) must abort the work; it
     * reports a failure with `AGGREGATION_FAILED` rather than by throwing, since
     * XState runs no cleanup for a callback actor that threw.
     */
    aggregateDays: fromCallback<EventObject, AggregateDaysInput>(() => {
      throw new NotProvidedError("actor", "aggregateDays");
    }),
    reportOutcome: fromPromise<void, ReportOutcomeInput>(async () => {
      throw new NotProvidedError("actor", "reportOutcome");
    }),
  },
  actions: {
    closeJobChannel: (_, _params: CloseJobChannelParams) => {
      throw new NotProvidedError("action", "closeJobChannel");
    },
    /** Acks the job and tells its batch an outcome the ledger already holds; must not throw. */
    announceOutcome: (_, _params: ReportOutcomeInput) => {
      throw new NotProvidedError("action", "announceOutcome");
    },
    enqueueJob: assign(({ context }, params: { job: UserJob }) => ({
      queue: [...context.queue, params.job],
    })),
    startNextQueuedJob: assign(({ context }) => {
      const job = context.queue[0] ?? null;
      // A job planned ahead carries its plan, recorded here as `recordPlan` would.
      const planned = job?.plannedDays;
      return {
        currentJob: job,
        queue: context.queue.slice(1),
        range: planned ? planned.range : null,
        daysDone: 0,
        daysTotal: planned ? planned.days : 0,
        heartbeatsRead: 0,
        outcome: null,
      };
    }),
    recordPlan: assign((_, params: { days: number; range: DayRange }) => ({
      daysTotal: params.days,
      range: params.range,
    })),
    recordDayPersisted: assign(({ context }, params: { heartbeats: number }) => ({
      daysDone: context.daysDone + 1,
      heartbeatsRead: context.heartbeatsRead + params.heartbeats,
    })),
    recordLastWrite: assign(({ context }, params: { days: number; heartbeats: number }) => ({
      daysDone: context.daysDone + params.days,
      heartbeatsRead: context.heartbeatsRead + params.heartbeats,
    })),
    decideOutcome: assign(({ context }, params: PendingOutcome) => ({
      outcome: params,
      lastError: params.outcome === "failed" ? (params.reason ?? "failed") : context.lastError,
    })),
    finishJob: assign(({ context }) => ({
      currentJob: null,
      outcome: null,
      jobsFinished: context.jobsFinished + 1,
    })),
    recordCloseReason: assign(({ context }, params: { reason: string; error?: string }) => ({
      closeReason: params.reason,
      lastError: params.error ?? context.lastError,
    })),
  },
  guards: {
    isNewJobForThisUser: ({ context }, params: { job: UserJob }) =>
      params.job.userId === context.userId &&
      context.currentJob?.jobId !== params.job.jobId &&
      !context.queue.some((queued) => queued.jobId === params.job.jobId),
    hasQueuedJob: ({ context }) => context.queue.length > 0,
    nextJobIsPlanned: ({ context }) => context.queue[0]?.plannedDays !== undefined,
    planIs: (_, params: { plan: JobPlan; kind: JobPlan["kind"] }) => params.plan.kind === params.kind,
    outcomeRecorded: (_, params: { recorded: boolean | undefined }) => params.recorded === true,
  },
  delays: {
    passivateAfter: ({ context }) => context.passivateAfterMs,
    jobTimeout: ({ context }) => context.jobTimeoutMs,
  },
}).createMachine({
  id: "userAggregator",
  context: ({ input }) => ({
    userId: input.userId,
    passivateAfterMs: input.passivateAfterMs,
    jobTimeoutMs: input.jobTimeoutMs,
    currentJob: null,
    queue: startingJobs(input),
    range: null,
    daysDone: 0,
    daysTotal: 0,
    heartbeatsRead: 0,
    outcome: null,
    jobsFinished: 0,
    lastError: null,
    closeReason: null,
  }),
  initial: "idle",
  // Every job goes through the queue; `idle` is the only state that takes one out.
  on: {
    JOB_RECEIVED: {
      guard: { type: "isNewJobForThisUser", params: ({ event }) => ({ job: event.job }) },
      actions: { type: "enqueueJob", params: ({ event }) => ({ job: event.job }) },
    },
    CANCEL: {
      target: ".closed",
      actions: { type: "recordCloseReason", params: ({ event }) => ({ reason: event.reason }) },
    },
  },
  states: {
    idle: {
      description: "Waiting for a job; passivates when none comes.",
      always: [
        // Planned ahead: no planning step (no `planJob` actor, no event for its answer).
        { guard: "nextJobIsPlanned", target: "processingJob.aggregating", actions: "startNextQueuedJob" },
        { guard: "hasQueuedJob", target: "processingJob", actions: "startNextQueuedJob" },
      ],
      after: {
        passivateAfter: {
          target: "closed",
          actions: { type: "recordCloseReason", params: { reason: "passivated" } },
        },
      },
    },
    processingJob: {
      description:
        "Working on `currentJob`; the job timeout covers planning and aggregating. A job planned ahead starts in aggregating.",
      initial: "planning",
      after: {
        jobTimeout: {
          target: "reportingOutcome",
          actions: {
            type: "decideOutcome",
            params: ({ context }) => ({
              outcome: "failed",
              reason: `timeout: job exceeded ${context.jobTimeoutMs} ms`,
            }),
          },
        },
      },
      states: {
        planning: {
          description: "Asking the planner which days the job needs.",
          invoke: {
            id: "planJob",
            src: "planJob",
            input: ({ context }) => ({ job: context.currentJob! }),
            onDone: [
              {
                guard: {
                  type: "planIs",
                  params: ({ event }) => ({ plan: event.output, kind: "no-heartbeats" }),
                },
                target: "#userAggregator.reportingOutcome",
                actions: { type: "decideOutcome", params: { outcome: "skipped", reason: "no-heartbeats" } },
              },
              {
                guard: {
                  type: "planIs",
                  params: ({ event }) => ({ plan: event.output, kind: "up-to-date" }),
                },
                target: "#userAggregator.reportingOutcome",
                actions: { type: "decideOutcome", params: { outcome: "done", reason: "up-to-date" } },
              },
              {
                target: "aggregating",
                actions: {
                  type: "recordPlan",
                  params: ({ event }) =>
                    event.output.kind === "days"
                      ? { days: event.output.days, range: event.output.range }
                      : { days: 0, range: { from: "", to: "" } },
                },
              },
            ],
            onError: {
              target: "#userAggregator.reportingOutcome",
              actions: {
                type: "decideOutcome",
                params: ({ event }) => ({
                  outcome: "failed",
                  reason: `planning: ${describeError(event.error)}`,
                }),
              },
            },
          },
        },
        aggregating: {
          description: "Writing the planned days; leaving this state stops (aborts) the writer.",
          invoke: {
            id: "aggregateDays",
            src: "aggregateDays",
            input: ({ context }) => ({ job: context.currentJob!, range: context.range! }),
            onError: {
              target: "#userAggregator.reportingOutcome",
              actions: {
                type: "decideOutcome",
                params: ({ event }) => ({
                  outcome: "failed",
                  reason: `aggregating: ${describeError(event.error)}`,
                }),
              },
            },
          },
          on: {
            DAY_PERSISTED: {
              actions: {
                type: "recordDayPersisted",
                params: ({ event }) => ({ heartbeats: event.heartbeats }),
              },
            },
            AGGREGATION_FINISHED: [
              {
                // The last write recorded the outcome: announce it and take the next job.
                guard: {
                  type: "outcomeRecorded",
                  params: ({ event }) => ({ recorded: event.outcomeRecorded }),
                },
                target: "#userAggregator.idle",
                actions: [
                  {
                    type: "recordLastWrite",
                    params: ({ event }) => ({ days: event.days ?? 0, heartbeats: event.heartbeats ?? 0 }),
                  },
                  { type: "decideOutcome", params: { outcome: "done" } },
                  {
                    type: "announceOutcome",
                    params: ({ context }) => ({
                      job: context.currentJob!,
                      outcome: "done",
                      daysWritten: context.daysDone,
                      heartbeatsRead: context.heartbeatsRead,
                    }),
                  },
                  "finishJob",
                ],
              },
              {
                target: "#userAggregator.reportingOutcome",
                actions: [
                  {
                    type: "recordLastWrite",
                    params: ({ event }) => ({ days: event.days ?? 0, heartbeats: event.heartbeats ?? 0 }),
                  },
                  { type: "decideOutcome", params: { outcome: "done" } },
                ],
              },
            ],
            AGGREGATION_FAILED: {
              target: "#userAggregator.reportingOutcome",
              actions: {
                type: "decideOutcome",
                params: ({ event }) => ({
                  outcome: "failed",
                  reason: `aggregating: ${describeError(event.error)}`,
                }),
              },
            },
          },
        },
      },
    },
    reportingOutcome: {
      description: "Acking the job and telling its batch how it ended; then the next job.",
      invoke: {
        id: "reportOutcome",
        src: "reportOutcome",
        input: ({ context }) => ({
          job: context.currentJob!,
          outcome: context.outcome?.outcome ?? "failed",
          ...(context.outcome?.reason === undefined ? {} : { reason: context.outcome.reason }),
          daysWritten: context.daysDone,
          heartbeatsRead: context.heartbeatsRead,
        }),
        onDone: { target: "idle", actions: "finishJob" },
        // The job stays `currentJob`, so `closeJobChannel` hands it back.
        onError: {
          target: "closed",
          actions: {
            type: "recordCloseReason",
            params: ({ event }) => ({ reason: "report-failed", error: describeError(event.error) }),
          },
        },
      },
      after: {
        jobTimeout: {
          target: "closed",
          actions: {
            type: "recordCloseReason",
            params: ({ context }) => ({
              reason: "report-timeout",
              error: `reporting the outcome exceeded ${context.jobTimeoutMs} ms`,
            }),
          },
        },
      },
    },
    closed: {
      description: "The end of every path: the only place the job channel is closed.",
      type: "final",
      entry: {
        type: "closeJobChannel",
        params: ({ context }) => ({
          userId: context.userId,
          reason: context.closeReason ?? "closed",
          currentJob: context.currentJob,
          queuedJobs: context.queue,
        }),
      },
    },
  },
  output: ({ context }) => ({
    userId: context.userId,
    closeReason: context.closeReason ?? "closed",
    jobsFinished: context.jobsFinished,
  }),
});

/** The jobs of `input.jobs` that `isNewJobForThisUser` would have queued, in order. */
function startingJobs(input: UserAggregatorInput): UserJob[] {
  const queue: UserJob[] = [];
  for (const job of input.jobs ?? []) {
    if (job.userId === input.userId && !queue.some((q) => q.jobId === job.jobId)) queue.push(job);
  }
  return queue;
}

/** A one-line reason for an error of any shape (invokes reject with anything). */
function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "string") return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}
