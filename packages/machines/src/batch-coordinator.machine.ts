import { assign, type SnapshotFrom, setup } from "xstate";
import { NotProvidedError } from "./not-provided-error";
import { ReportLedger } from "./report-ledger";
import type { UserOutcome } from "./user-aggregator.machine";

/** A batch's state as `agg.status` names it. */
export type BatchState = "running" | "completed" | "failed" | "cancelled";

/** The `agg.status` reply, and the payload of the final `agg.batch.<batchId>` event. */
export interface BatchStatus {
  readonly batchId: string;
  readonly state: BatchState;
  /** Users the batch covers. */
  readonly users: number;
  readonly done: number;
  readonly failed: number;
  readonly skipped: number;
}

/** A user whose outcome is known before the coordinator starts. */
export interface ReportedUser {
  readonly userId: string;
  readonly outcome: UserOutcome;
}

/** What `createActor(batchCoordinatorMachine, { input })` needs. */
export interface BatchCoordinatorInput {
  readonly batchId: string;
  /** Users that still have to report. */
  readonly userIds: readonly string[];
  /** Users already counted: unknown users skipped at acceptance, outcomes recovered after a restart. */
  readonly alreadyReported?: readonly ReportedUser[];
  /** How long the batch waits for reports; then every unreported user counts as failed. */
  readonly deadlineMs: number;
}

/** A user's aggregator reported how its job ended. Only the first report of a covered user counts. */
export interface UserReportedEvent {
  readonly type: "USER_REPORTED";
  readonly userId: string;
  readonly outcome: UserOutcome;
}

/**
 * Several users reported at once (one report message of an instance carries the
 * outcomes of a group): the first report of each covered user counts, as with
 * `USER_REPORTED`, in one transition.
 */
export interface UsersReportedEvent {
  readonly type: "USERS_REPORTED";
  readonly reports: readonly ReportedUser[];
}

/** Give up on the batch (operator request, shutdown of the only owner). */
export interface BatchCancelEvent {
  readonly type: "CANCEL";
  readonly reason?: string;
}

/** Every event the batch coordinator understands. */
export type BatchCoordinatorEvent = UserReportedEvent | UsersReportedEvent | BatchCancelEvent;

/** The batch coordinator's context. Counts plus one ledger of ids: O(users) memory, O(1) per report. */
export interface BatchCoordinatorContext {
  readonly batchId: string;
  readonly deadlineMs: number;
  /** Every user the batch covers (never changes after start). */
  readonly covered: ReadonlySet<string>;
  /** Users whose outcome has been counted. */
  readonly reported: ReportLedger;
  readonly done: number;
  readonly failed: number;
  readonly skipped: number;
  /** Users counted failed because they had not reported by the deadline. */
  readonly unreportedAtDeadline: readonly string[];
  readonly cancelReason: string | null;
}

export type BatchCoordinatorSnapshot = SnapshotFrom<typeof batchCoordinatorMachine>;

const outcomes: ReadonlySet<string> = new Set<UserOutcome>(["done", "failed", "skipped"]);

/**
 * One actor per batch: counts each covered user's outcome once, publishes
 * progress, and ends in one of three final states whose entry publishes the
 * final event, so that event goes out exactly once however many reports,
 * duplicates and timers arrive.
 *
 * @example
 * ```ts
 * const coordinator = createActor(
 *   batchCoordinatorMachine.provide({
 *     actions: {
 *       publishProgress: (_, status) => throttled(status),
 *       publishFinalEvent: (_, status) => publish(`agg.batch.${status.batchId}`, status),
 *     },
 *   }),
 *   { input: { batchId, userIds: ["alice", "bob"], deadlineMs: 3_600_000 } },
 * ).start();
 * coordinator.send({ type: "USER_REPORTED", userId: "alice", outcome: "done" });
 * ```
 */
export const batchCoordinatorMachine = setup({
  types: {
    context: {} as BatchCoordinatorContext,
    events: {} as BatchCoordinatorEvent,
    input: {} as BatchCoordinatorInput,
    output: {} as BatchStatus,
  },
  actions: {
    publishProgress: (_, _status: BatchStatus) => {
      throw new NotProvidedError("action", "publishProgress");
    },
    publishFinalEvent: (_, _status: BatchStatus) => {
      throw new NotProvidedError("action", "publishFinalEvent");
    },
    countReport: assign(({ context }, params: { userId: string; outcome: UserOutcome }) => ({
      reported: context.reported.add(params.userId),
      ...countOne(context, params.outcome),
    })),
    countReports: assign(({ context }, params: { reports: readonly ReportedUser[] }) => {
      let reported = context.reported;
      let counts: Pick<BatchCoordinatorContext, UserOutcome> = context;
      for (const r of params.reports) {
        if (!isFirstReport(context.covered, reported, r)) continue;
        reported = reported.add(r.userId);
        counts = countOne(counts, r.outcome);
      }
      return { reported, done: counts.done, failed: counts.failed, skipped: counts.skipped };
    }),
    countUnreportedAsFailed: assign(({ context }) => {
      const unreported = [...context.covered].filter((userId) => !context.reported.has(userId));
      return {
        reported: ReportLedger.of([...context.reported, ...unreported]),
        failed: context.failed + unreported.length,
        unreportedAtDeadline: unreported,
      };
    }),
    recordCancelReason: assign((_, params: { reason: string }) => ({ cancelReason: params.reason })),
  },
  guards: {
    isFirstReportOfCoveredUser: ({ context }, params: { userId: string; outcome: string }) =>
      isFirstReport(context.covered, context.reported, params),
    hasFirstReportOfCoveredUser: ({ context }, params: { reports: readonly ReportedUser[] }) =>
      params.reports.some((r) => isFirstReport(context.covered, context.reported, r)),
    everyUserReportedSomeFailed: ({ context }) =>
      context.reported.size === context.covered.size && context.failed > 0,
    everyUserReported: ({ context }) => context.reported.size === context.covered.size,
  },
  delays: {
    batchDeadline: ({ context }) => context.deadlineMs,
  },
}).createMachine({
  id: "batchCoordinator",
  context: ({ input }) => startingContext(input),
  initial: "collecting",
  states: {
    collecting: {
      description: "Counting user reports until every covered user has one, or the deadline.",
      // Also decides at start: a batch whose users were all counted at acceptance ends at once.
      always: [
        { guard: "everyUserReportedSomeFailed", target: "failed" },
        { guard: "everyUserReported", target: "completed" },
      ],
      on: {
        USER_REPORTED: {
          guard: {
            type: "isFirstReportOfCoveredUser",
            params: ({ event }) => ({ userId: event.userId, outcome: event.outcome }),
          },
          actions: [
            {
              type: "countReport",
              params: ({ event }) => ({ userId: event.userId, outcome: event.outcome }),
            },
            { type: "publishProgress", params: ({ context }) => statusOf(context, "running") },
          ],
        },
        USERS_REPORTED: {
          guard: {
            type: "hasFirstReportOfCoveredUser",
            params: ({ event }) => ({ reports: event.reports }),
          },
          actions: [
            { type: "countReports", params: ({ event }) => ({ reports: event.reports }) },
            { type: "publishProgress", params: ({ context }) => statusOf(context, "running") },
          ],
        },
        CANCEL: {
          target: "cancelled",
          actions: {
            type: "recordCancelReason",
            params: ({ event }) => ({ reason: event.reason ?? "cancelled" }),
          },
        },
      },
      after: {
        batchDeadline: { target: "failed", actions: "countUnreportedAsFailed" },
      },
    },
    completed: {
      description: "Every user was done or skipped.",
      type: "final",
      entry: { type: "publishFinalEvent", params: ({ context }) => statusOf(context, "completed") },
      output: ({ context }) => statusOf(context, "completed"),
    },
    failed: {
      description: "Every user reported or the deadline passed, and at least one user failed.",
      type: "final",
      entry: { type: "publishFinalEvent", params: ({ context }) => statusOf(context, "failed") },
      output: ({ context }) => statusOf(context, "failed"),
    },
    cancelled: {
      description: "Cancelled before every user reported.",
      type: "final",
      entry: { type: "publishFinalEvent", params: ({ context }) => statusOf(context, "cancelled") },
      output: ({ context }) => statusOf(context, "cancelled"),
    },
  },
  // The final state that was reached supplies its status as the done event's output.
  output: ({ event }) => event.output as BatchStatus,
});

/**
 * The `agg.status` object of a coordinator snapshot: what the engine replies
 * to `agg.status` and what the inspector shows.
 *
 * @example
 * ```ts
 * batchStatusOf(coordinator.getSnapshot());
 * // { batchId: "b1", state: "running", users: 2, done: 1, failed: 0, skipped: 0 }
 * ```
 */
export function batchStatusOf(snapshot: BatchCoordinatorSnapshot): BatchStatus {
  return statusOf(snapshot.context, stateOfValue(snapshot.value));
}

function stateOfValue(value: BatchCoordinatorSnapshot["value"]): BatchState {
  return value === "collecting" ? "running" : value;
}

function statusOf(context: BatchCoordinatorContext, state: BatchState): BatchStatus {
  return {
    batchId: context.batchId,
    state,
    users: context.covered.size,
    done: context.done,
    failed: context.failed,
    skipped: context.skipped,
  };
}

/** Whether `report` is the first of a user the batch covers, with a known outcome. */
function isFirstReport(
  covered: ReadonlySet<string>,
  reported: ReportLedger,
  report: { readonly userId: string; readonly outcome: string },
): boolean {
  return outcomes.has(report.outcome) && covered.has(report.userId) && !reported.has(report.userId);
}

/** `counts` with one more `outcome`. */
function countOne(
  counts: Pick<BatchCoordinatorContext, UserOutcome>,
  outcome: UserOutcome,
): Pick<BatchCoordinatorContext, UserOutcome> {
  return {
    done: counts.done,
    failed: counts.failed,
    skipped: counts.skipped,
    [outcome]: counts[outcome] + 1,
  };
}

function startingContext(input: BatchCoordinatorInput): BatchCoordinatorContext {
  const covered = new Set(input.userIds);
  let reported = ReportLedger.empty();
  let counts = { done: 0, failed: 0, skipped: 0 };
  for (const { userId, outcome } of input.alreadyReported ?? []) {
    covered.add(userId);
    if (reported.has(userId) || !outcomes.has(outcome)) continue;
    reported = reported.add(userId);
    counts = countOne(counts, outcome);
  }
  return {
    batchId: input.batchId,
    deadlineMs: input.deadlineMs,
    covered,
    reported,
    ...counts,
    unreportedAtDeadline: [],
    cancelReason: null,
  };
}
