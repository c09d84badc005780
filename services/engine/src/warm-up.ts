import type {
  AggregateDaysInput,
  batchCoordinatorMachine,
  JobPlan,
  PlanJobInput,
  ReportedUser,
  ReportOutcomeInput,
  UserAggregatorInput,
  UserJob,
  userAggregatorMachine,
} from "@agg/machines";
import { createActor, type EventObject, fromCallback, fromPromise, type InspectionEvent } from "xstate";
import { jobsOf } from "./job-queue";
import { jobPlanOf, type UserPlan, withPlannedDays } from "./user-work";

/** Options of {@link warmUpUserAggregator}. */
export interface WarmUpOptions {
  /** Jobs to run through the machine; 0 does nothing. */
  readonly jobs: number;
  /** Actors alive at once (as many as a batch keeps in flight). */
  readonly inFlight?: number;
  /**
   * The engine's batch coordinator machine (its `provide`d form). When given,
   * each round of `inFlight` jobs is a made-up batch: a coordinator covers its
   * users, counts their outcomes (reported in groups, as report messages
   * carry them) and ends in its final state.
   */
  readonly coordinator?: typeof batchCoordinatorMachine;
  /**
   * An inspection sink like the real one but publishing nowhere, so the
   * inspection code paths warm up too. Never the live publisher: warm-up
   * actors must not show in the inspector.
   */
  readonly inspect?: ((event: InspectionEvent) => void) | undefined;
  /**
   * Asked before each round of `inFlight` jobs; false ends the warm-up there
   * (a warm-up run again while idle gives way to real work, see `IdleRewarm`).
   */
  readonly keepGoing?: (() => boolean) | undefined;
}

const WARM_UP_DAY = "2000-01-01";

/** The made-up user of job `n`: its actor, its coordinator's coverage and its report all name it so. */
const warmUpUserId = (n: number) => `warm-up-${n}`;

/** Every tenth job is up to date (the report step), the others have days: one, or a month. */
function planOf(job: UserJob): UserPlan {
  if (job.jobId.endsWith("0")) return { kind: "up-to-date" };
  const days = job.mode === "missing" ? 1 : 30;
  return { kind: "days", days, range: { from: WARM_UP_DAY, to: WARM_UP_DAY } };
}

/**
 * Runs `jobs` made-up jobs through the user aggregator in memory, before the
 * engine takes real work: planning (every tenth job "up to date", reported;
 * the others one day or a month, their outcome recorded by the last write and
 * announced; three in four of those planned ahead, as a batch's triage plans
 * them), passivation, the channel closed. No I/O: the machine's I/O
 * actors are replaced by ones that answer at once.
 *
 * Why: V8 optimises XState's interpreter only once it has run hot, and
 * re-optimises it as the feedback changes. Without this, the first batch
 * after a start paid for that on the side (background compilation of the
 * interpreter, measured at 0.1 to 0.25 s of CPU during the first nightly run
 * on 2 cores, and a first nightly run 10 to 15 % slower than the next ones);
 * see BENCHMARKS.md. The machine given should be the engine's own (its
 * `provide`d form), so the same code is warmed.
 *
 * The warm-up should look like real work to V8: optimised code that meets
 * objects of other hidden classes is thrown away ("wrong map" in
 * `--trace-deopt`). So jobs are made by `jobsOf`, plans by `jobPlanOf`, and
 * both a nightly run's and a full run's shapes are run. The interpreter's
 * functions serve both machines, so the coordinator runs too (`coordinator`):
 * warmed on the user machine alone, they were thrown away when the first real
 * coordinator ran and compiled again during the next batch, the nightly run
 * (BENCHMARKS.md, stop 13). It does not remove every recompilation
 * (`--trace-opt` still shows some, "code dependencies").
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
      planJob: fromPromise<JobPlan, PlanJobInput>(async ({ input }) => jobPlanOf(planOf(input.job))),
      aggregateDays: fromCallback<EventObject, AggregateDaysInput>(({ input, sendBack }) => {
        let stopped = false;
        void Promise.resolve().then(() => {
          if (stopped) return;
          // As the engine's writer ends: the days of earlier writes one event
          // each, the last write's days on the finish, its outcome recorded.
          const earlier = input.job.jobId.endsWith("5") ? 2 : 0;
          for (let i = 0; i < earlier; i++)
            sendBack({ type: "DAY_PERSISTED", day: WARM_UP_DAY, heartbeats: 1 });
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
  const coordinator = options.coordinator?.provide({
    actions: { publishProgress: () => undefined, publishFinalEvent: () => undefined },
  });
  const runOne = (n: number) =>
    new Promise<void>((resolve) => {
      const userId = warmUpUserId(n);
      // Jobs made the way received ones are (`jobsOf`): a nightly run's
      // (`missing`) and a full run's (`regenerate` up to a day), alternately.
      const [received] = jobsOf({
        batchId: "warm-up",
        mode: n % 2 === 0 ? "missing" : "regenerate",
        from: undefined,
        to: n % 2 === 0 ? undefined : WARM_UP_DAY,
        users: [userId],
      });
      // Most jobs of a batch come planned ahead by its triage (`planAhead`);
      // the others plan in the machine.
      const plan = planOf(received!);
      const job =
        n % 4 !== 3 && plan.kind === "days"
          ? withPlannedDays(received!, { days: plan.days, range: plan.range })
          : received;
      // As the engine starts an actor: with its first job in its input.
      const input: UserAggregatorInput = {
        userId,
        passivateAfterMs: 0,
        jobTimeoutMs: 60_000,
        jobs: [job!],
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
    if (options.keepGoing && !options.keepGoing()) break;
    const count = Math.min(inFlight, options.jobs - done);
    const numbers = Array.from({ length: count }, (_, i) => done + i);
    if (!coordinator) {
      await Promise.all(numbers.map(runOne));
      continue;
    }
    await runBatch(coordinator, `warm-up-${done}`, numbers, runOne, options.inspect);
  }
  return performance.now() - started;
}

/** Outcomes per USERS_REPORTED event, about as many as one report message of a busy instance carries. */
const REPORT_GROUP = 16;

/**
 * One made-up batch: a coordinator over the users `numbers` name, their
 * actors run by `runOne`, every outcome reported `done` in groups.
 */
function runBatch(
  coordinator: typeof batchCoordinatorMachine,
  batchId: string,
  numbers: readonly number[],
  runOne: (n: number) => Promise<void>,
  inspect: ((event: InspectionEvent) => void) | undefined,
): Promise<void> {
  return new Promise<void>((resolve) => {
    const actor = createActor(coordinator, {
      id: `batch:${batchId}`,
      input: { batchId, userIds: numbers.map(warmUpUserId), deadlineMs: 60_000 },
      ...(inspect ? { inspect } : {}),
    });
    actor.subscribe({ complete: () => resolve(), error: () => resolve() });
    actor.start();
    let reports: ReportedUser[] = [];
    const flush = () => {
      if (reports.length === 0) return;
      actor.send({ type: "USERS_REPORTED", reports });
      reports = [];
    };
    void Promise.all(
      numbers.map((n) =>
        runOne(n).then(() => {
          reports.push({ userId: warmUpUserId(n), outcome: "done" });
          if (reports.length >= REPORT_GROUP) flush();
        }),
      ),
    ).then(() => {
      flush();
      // Never left running: a coordinator that did not end (it should) is stopped.
      if (actor.getSnapshot().status === "active") actor.stop();
      resolve();
    });
  });
}
