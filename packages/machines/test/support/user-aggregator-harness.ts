import { type AnyEventObject, createActor, fromCallback, fromPromise, SimulatedClock } from "xstate";
import {
  type AggregateDaysEvent,
  type AggregateDaysInput,
  type CloseJobChannelParams,
  type JobPlan,
  type PlanJobInput,
  type ReportOutcomeInput,
  type UserAggregatorInput,
  type UserJob,
  userAggregatorMachine,
} from "../../src/index";

/** A promise the test settles by hand. */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every settled promise deliver its done/error event to the actor. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The running `aggregateDays` child as the test sees it. */
export interface AggregationRun {
  readonly input: AggregateDaysInput;
  readonly sendBack: (event: AggregateDaysEvent) => void;
  aborted: boolean;
  /** Crashed (an invoke error): XState does not run the cleanup of a callback actor that threw. */
  crashed: boolean;
}

/** Sent by the harness to the running `aggregateDays` child to make it crash (an invoke error). */
export const CRASH = { type: "HARNESS.CRASH" } as const;

export const defaultInput: UserAggregatorInput = {
  userId: "alice",
  passivateAfterMs: 30_000,
  jobTimeoutMs: 60_000,
};

export function job(jobId: string, overrides: Partial<UserJob> = {}): UserJob {
  return { jobId, batchId: "b1", userId: "alice", mode: "missing", ...overrides };
}

/**
 * A user aggregator wired to injected actors the test drives by hand, with a
 * simulated clock and a counting `closeJobChannel`. `log` records the order in
 * which the injected I/O started, stopped and finished.
 */
export function createUserAggregatorHarness(input: UserAggregatorInput = defaultInput) {
  const clock = new SimulatedClock();
  const log: string[] = [];
  const closeCalls: CloseJobChannelParams[] = [];
  const reports: ReportOutcomeInput[] = [];
  const state = {
    plan: null as { input: PlanJobInput; deferred: Deferred<JobPlan>; signal: AbortSignal } | null,
    aggregation: null as AggregationRun | null,
    report: null as { input: ReportOutcomeInput; deferred: Deferred<void>; signal: AbortSignal } | null,
  };

  const machine = userAggregatorMachine.provide({
    actors: {
      planJob: fromPromise<JobPlan, PlanJobInput>(({ input, signal }) => {
        log.push(`plan:${input.job.jobId}`);
        const plan = deferred<JobPlan>();
        state.plan = { input, deferred: plan, signal };
        return plan.promise;
      }),
      aggregateDays: fromCallback<AnyEventObject, AggregateDaysInput>(({ input, sendBack, receive }) => {
        log.push(`aggregate:${input.job.jobId}`);
        const run: AggregationRun = { input, sendBack, aborted: false, crashed: false };
        state.aggregation = run;
        receive((event) => {
          if (event.type !== CRASH.type) return;
          run.crashed = true;
          throw new Error("writer crashed");
        });
        return () => {
          run.aborted = true;
          log.push(`abort:${input.job.jobId}`);
        };
      }),
      reportOutcome: fromPromise<void, ReportOutcomeInput>(({ input, signal }) => {
        log.push(`report:${input.job.jobId}:${input.outcome}`);
        reports.push(input);
        const report = deferred<void>();
        state.report = { input, deferred: report, signal };
        return report.promise;
      }),
    },
    actions: {
      closeJobChannel: (_, params) => {
        log.push(`close:${params.reason}`);
        closeCalls.push(params);
      },
      announceOutcome: (_, params) => {
        // An outcome the last write recorded: reported and done in one step.
        log.push(`report:${params.job.jobId}:${params.outcome}`, `reported:${params.job.jobId}`);
        reports.push(params);
      },
    },
  });
  const actor = createActor(machine, { input, clock });

  return {
    actor,
    clock,
    log,
    closeCalls,
    reports,
    state,
    /** Resolves the pending plan and waits for the machine to react. */
    async resolvePlan(plan: JobPlan): Promise<void> {
      state.plan!.deferred.resolve(plan);
      await flush();
    },
    async rejectPlan(error: unknown): Promise<void> {
      state.plan!.deferred.reject(error);
      await flush();
    },
    async resolveReport(): Promise<void> {
      log.push(`reported:${state.report!.input.job.jobId}`);
      state.report!.deferred.resolve();
      await flush();
    },
    async rejectReport(error: unknown): Promise<void> {
      state.report!.deferred.reject(error);
      await flush();
    },
    /** Sends an event from the running `aggregateDays` child, as the real one would. */
    sendFromAggregation(event: AggregateDaysEvent): void {
      state.aggregation!.sendBack(event);
    },
    crashAggregation(): void {
      actor.getSnapshot().children.aggregateDays!.send(CRASH);
    },
  };
}

export type UserAggregatorHarness = ReturnType<typeof createUserAggregatorHarness>;
