import type {
  AggregateDaysInput,
  JobPlan,
  PlanJobInput,
  ReportOutcomeInput,
  UserAggregatorInput,
  userAggregatorMachine,
} from "@agg/machines";
import { createActor, type EventObject, fromCallback, fromPromise, type InspectionEvent } from "xstate";

/** Options of {@link warmUpUserAggregator}. */
export interface WarmUpOptions {
  /** Jobs to run through the machine; 0 does nothing. */
  readonly jobs: number;
  /** Actors alive at once (as many as a batch keeps in flight). */
  readonly inFlight?: number;
  /**
   * An inspection sink like the real one but publishing nowhere, so the
   * inspection code paths warm up too. Never the live publisher: warm-up
   * actors must not show in the inspector.
   */
  readonly inspect?: ((event: InspectionEvent) => void) | undefined;
}

const WARM_UP_DAY = "2000-01-01";

/**
 * Runs `jobs` made-up jobs through the user aggregator in memory, before the
 * engine takes real work: planning (every tenth job "up to date"), a day
 * persisted, the outcome reported, passivation, the channel closed. No I/O:
 * the machine's I/O actors are replaced by ones that answer at once.
 *
 * Why: V8 optimises XState's interpreter only once it has run hot, and
 * re-optimises it as the feedback changes. Without this, the first batch
 * after a start paid for that on the side (background compilation of the
 * interpreter, measured at 0.1 to 0.25 s of CPU during the first nightly run
 * on 2 cores, and a first nightly run 10 to 15 % slower than the next ones);
 * see BENCHMARKS.md. The machine given should be the engine's own (its
 * `provide`d form), so the same code is warmed.
 *
 * @returns the milliseconds it took.
 */
export async function warmUpUserAggregator(
  machine: typeof userAggregatorMachine,
  options: WarmUpOptions,
): Promise<number> {
  const started = performance.now();
  const inFlight = Math.max(1, options.inFlight ?? 100);
  const warm = machine.provide({
    actors: {
      planJob: fromPromise<JobPlan, PlanJobInput>(async ({ input }) =>
        input.job.jobId.endsWith("0")
          ? { kind: "up-to-date" }
          : { kind: "days", days: 1, range: { from: WARM_UP_DAY, to: WARM_UP_DAY } },
      ),
      aggregateDays: fromCallback<EventObject, AggregateDaysInput>(({ sendBack }) => {
        let stopped = false;
        void Promise.resolve().then(() => {
          if (stopped) return;
          // As a job whose one write recorded its outcome (a nightly job) ends.
          sendBack({ type: "AGGREGATION_FINISHED", days: 1, heartbeats: 1, outcomeRecorded: true });
        });
        return () => {
          stopped = true;
        };
      }),
      reportOutcome: fromPromise<void, ReportOutcomeInput>(async () => undefined),
    },
    actions: { closeJobChannel: () => undefined, announceOutcome: () => undefined },
  });
  const runOne = (n: number) =>
    new Promise<void>((resolve) => {
      const userId = `warm-up-${n}`;
      // As the engine starts an actor: with its first job in its input.
      const input: UserAggregatorInput = {
        userId,
        passivateAfterMs: 0,
        jobTimeoutMs: 60_000,
        jobs: [{ jobId: `warm-up-${n}`, batchId: "warm-up", userId, mode: "missing" }],
      };
      const actor = createActor(warm, {
        id: `user:${userId}`,
        input,
        ...(options.inspect ? { inspect: options.inspect } : {}),
      });
      actor.subscribe({ complete: () => resolve(), error: () => resolve() });
      actor.start();
    });
  for (let done = 0; done < options.jobs; done += inFlight) {
    const count = Math.min(inFlight, options.jobs - done);
    await Promise.all(Array.from({ length: count }, (_, i) => runOne(done + i)));
  }
  return performance.now() - started;
}
