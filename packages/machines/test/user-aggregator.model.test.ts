import { describe, expect, test } from "vitest";
import type { AnyStateMachine } from "xstate";
import { getShortestPaths, getSimplePaths, getStateNodes, type StatePath } from "xstate/graph";
import {
  type UserAggregatorEvent,
  type UserAggregatorSnapshot,
  type UserJob,
  userAggregatorMachine,
} from "../src/index";
import { silenceXStateWarnings } from "./support/silence-xstate-warnings";
import {
  createUserAggregatorHarness,
  defaultInput,
  flush,
  job,
  type UserAggregatorHarness,
} from "./support/user-aggregator-harness";

/**
 * Model-based test of the user aggregator: `getSimplePaths` walks every simple
 * path through an abstraction of the machine (state value, queue length,
 * whether a day was persisted, the pending outcome), and each path is replayed
 * on a real actor whose injected actors are settled by hand and whose clock is
 * simulated. On every step of every path, `closeJobChannel` has run exactly
 * once if `closed` was reached and never otherwise.
 */

/** Longest queue the model explores (jobs waiting behind the current one). */
const maxQueued = 2;

let nextJob = 0;

/** Thousands of paths are replayed step by step; give a loaded machine room. */
const replayTimeoutMs = 180_000;

/** Every kind of event the actor can meet, including invoke results and timers. */
function modelEvents(snapshot: UserAggregatorSnapshot, withPlannedJobs = false): UserAggregatorEvent[] {
  const events: unknown[] = [
    { type: "DAY_PERSISTED", day: "2025-02-01", heartbeats: 3 },
    { type: "AGGREGATION_FINISHED" },
    { type: "AGGREGATION_FINISHED", days: 1, heartbeats: 4, outcomeRecorded: true },
    { type: "AGGREGATION_FAILED", error: "disk full" },
    { type: "CANCEL", reason: "shutdown" },
    { type: "xstate.done.actor.planJob", actorId: "planJob", output: { kind: "no-heartbeats" } },
    { type: "xstate.done.actor.planJob", actorId: "planJob", output: { kind: "up-to-date" } },
    {
      type: "xstate.done.actor.planJob",
      actorId: "planJob",
      output: { kind: "days", days: 2, range: { from: "2025-02-01", to: "2025-02-02" } },
    },
    { type: "xstate.error.actor.planJob", actorId: "planJob", error: "database down" },
    { type: "xstate.error.actor.aggregateDays", actorId: "aggregateDays", error: "writer crashed" },
    { type: "xstate.done.actor.reportOutcome", actorId: "reportOutcome", output: undefined },
    { type: "xstate.error.actor.reportOutcome", actorId: "reportOutcome", error: "nats down" },
    ...timerEvents(userAggregatorMachine).map((type) => ({ type })),
  ];
  if (snapshot.context.queue.length < maxQueued) {
    // A fresh id each time, so no two JOB_RECEIVED events of the model are duplicates.
    nextJob += 1;
    events.push({ type: "JOB_RECEIVED", job: job(`job-${nextJob}`) });
    if (withPlannedJobs) {
      // A job planned ahead (by batch triage), which skips planning.
      nextJob += 1;
      events.push({
        type: "JOB_RECEIVED",
        job: job(`job-${nextJob}`, {
          plannedDays: { days: 1, range: { from: "2025-02-01", to: "2025-02-01" } },
        }),
      });
    }
  }
  return events as UserAggregatorEvent[];
}

/** The `xstate.after.*` event of every delayed transition in the machine. */
function timerEvents(machine: AnyStateMachine): string[] {
  return getStateNodes(machine.root).flatMap((node) => node.after.map((t) => String(t.eventType)));
}

function abstractState(snapshot: UserAggregatorSnapshot): string {
  const { context } = snapshot;
  return JSON.stringify({
    value: snapshot.value,
    queued: context.queue.length,
    // Which queued jobs were planned ahead: they leave idle for aggregating, not planning.
    planned: context.queue.map((queued) => queued.plannedDays !== undefined),
    working: context.currentJob !== null,
    persistedADay: context.daysDone > 0,
    outcome: context.outcome?.outcome ?? null,
  });
}

const delays: Record<string, number> = {
  passivateAfter: defaultInput.passivateAfterMs,
  jobTimeout: defaultInput.jobTimeoutMs,
};

/** Makes `event` happen to the harnessed actor the way the real world would. */
async function deliver(h: UserAggregatorHarness, event: { type: string } & Record<string, unknown>) {
  const [, kind, name] = event.type.split(".");
  switch (event.type) {
    case "xstate.init":
      return;
    case "xstate.done.actor.planJob":
      return h.resolvePlan(event.output as never);
    case "xstate.error.actor.planJob":
      return h.rejectPlan(event.error);
    case "xstate.error.actor.aggregateDays":
      h.crashAggregation();
      return flush();
    case "xstate.done.actor.reportOutcome":
      return h.resolveReport();
    case "xstate.error.actor.reportOutcome":
      return h.rejectReport(event.error);
    case "DAY_PERSISTED":
    case "AGGREGATION_FINISHED":
    case "AGGREGATION_FAILED":
      h.sendFromAggregation(event as never);
      return flush();
  }
  if (kind === "after") {
    h.clock.increment(delays[name!]!);
    return flush();
  }
  h.actor.send(event as UserAggregatorEvent);
  return flush();
}

/** Sends everything there is to an actor and lets every timer fire. */
async function bombard(h: UserAggregatorHarness) {
  for (const type of [
    "JOB_RECEIVED",
    "DAY_PERSISTED",
    "AGGREGATION_FINISHED",
    "AGGREGATION_FAILED",
    "CANCEL",
  ]) {
    h.actor.send({
      type,
      job: job("late"),
      day: "2025-02-03",
      heartbeats: 1,
      error: "late",
      reason: "late",
    } as never);
  }
  h.state.plan?.deferred.resolve({ kind: "up-to-date" });
  h.state.report?.deferred.resolve();
  h.state.aggregation?.sendBack({ type: "AGGREGATION_FINISHED" });
  h.clock.increment(10 * (defaultInput.passivateAfterMs + defaultInput.jobTimeoutMs));
  await flush();
}

function jobIds(jobs: readonly UserJob[]): string[] {
  return jobs.map((j) => j.jobId);
}

async function replay(path: StatePath<UserAggregatorSnapshot, UserAggregatorEvent>) {
  const h = createUserAggregatorHarness();
  h.actor.start();
  for (const step of path.steps) {
    await deliver(h, step.event as never);
    const snapshot = h.actor.getSnapshot();
    const where = `after ${step.event.type} in ${JSON.stringify(path.steps.map((s) => s.event.type))}`;
    expect(snapshot.value, where).toEqual(step.state.value);
    expect(snapshot.context.queue.length, where).toBe(step.state.context.queue.length);
    const closed = snapshot.value === "closed";
    expect(snapshot.status, where).toBe(closed ? "done" : "active");
    expect(h.closeCalls.length, where).toBe(closed ? 1 : 0);
    // A writer runs only while aggregating; leaving that state aborted it.
    const inAggregating = JSON.stringify(snapshot.value) === JSON.stringify({ processingJob: "aggregating" });
    const writer = h.state.aggregation;
    if (writer !== null && !writer.crashed) expect(writer.aborted, where).toBe(!inAggregating);
  }
  return h;
}

describe("userAggregatorMachine, every simple path (model-based)", () => {
  const paths = getSimplePaths(userAggregatorMachine, {
    input: defaultInput,
    events: modelEvents,
    serializeState: abstractState,
    // A pure transition still applies root-level events to a final snapshot; a running actor never does.
    stopWhen: (snapshot) => snapshot.status === "done",
    // A machine whose abstract state grew without bound (e.g. counting duplicates) fails here instead of hanging.
    limit: 20_000,
  });
  const closingPaths = paths.filter((path) => path.state.status === "done");
  const openPaths = paths.filter((path) => path.state.status !== "done");

  silenceXStateWarnings();

  test("the model reaches every state and every kind of event", () => {
    const values = new Set(paths.map((path) => JSON.stringify(path.state.value)));
    expect(values).toEqual(
      new Set(
        [
          "idle",
          { processingJob: "planning" },
          { processingJob: "aggregating" },
          "reportingOutcome",
          "closed",
        ].map((value) => JSON.stringify(value)),
      ),
    );
    const eventTypes = new Set(paths.flatMap((path) => path.steps.map((step) => step.event.type)));
    for (const type of [
      "JOB_RECEIVED",
      "DAY_PERSISTED",
      "AGGREGATION_FINISHED",
      "AGGREGATION_FAILED",
      "CANCEL",
      "xstate.done.actor.planJob",
      "xstate.error.actor.planJob",
      "xstate.error.actor.aggregateDays",
      "xstate.done.actor.reportOutcome",
      "xstate.error.actor.reportOutcome",
      "xstate.after.passivateAfter.userAggregator.idle",
      "xstate.after.jobTimeout.userAggregator.processingJob",
      "xstate.after.jobTimeout.userAggregator.reportingOutcome",
    ]) {
      expect(eventTypes, type).toContain(type);
    }
    // The finish whose outcome the last write recorded skips reportingOutcome.
    const recordedFinishes = paths.flatMap((path) =>
      path.steps.filter(
        (step) =>
          step.event.type === "AGGREGATION_FINISHED" &&
          (step.event as { outcomeRecorded?: boolean }).outcomeRecorded === true,
      ),
    );
    expect(recordedFinishes.map((step) => step.state.value)).toContain("idle");
    expect(closingPaths.length).toBeGreaterThan(100);
  });

  test(
    "on paths that never reach closed, the job channel is never closed",
    async () => {
      for (const path of openPaths) {
        const h = await replay(path);
        expect(h.closeCalls).toEqual([]);
        h.actor.stop();
      }
    },
    replayTimeoutMs,
  );

  test(
    "on paths to closed, the job channel is closed exactly once, then every event is ignored",
    async () => {
      for (const path of closingPaths) {
        const h = await replay(path);
        const { context } = h.actor.getSnapshot();
        expect(h.closeCalls).toEqual([
          {
            userId: "alice",
            reason: context.closeReason,
            currentJob: context.currentJob,
            queuedJobs: context.queue,
          },
        ]);
        // The work not finished is handed back: nothing in flight was reported as finished.
        const reported = new Set(h.log.filter((line) => line.startsWith("reported:")).map((l) => l.slice(9)));
        for (const unfinished of [context.currentJob, ...context.queue]) {
          if (unfinished !== null) expect(reported.has(unfinished.jobId)).toBe(false);
        }
        expect(jobIds(context.queue).length).toBe(path.state.context.queue.length);

        const before = h.actor.getSnapshot();
        await bombard(h);
        expect(h.closeCalls).toHaveLength(1);
        expect(h.actor.getSnapshot()).toBe(before);
        expect(h.actor.getSnapshot().output).toEqual({
          userId: "alice",
          closeReason: context.closeReason,
          jobsFinished: context.jobsFinished,
        });
      }
    },
    replayTimeoutMs,
  );
});

/**
 * Jobs planned ahead added to the model. Every simple path with them is too
 * many to replay (16 s became 102 s), so this walks one shortest path to each
 * abstract state, queues of planned and unplanned jobs in every order, and
 * replays each with the same checks.
 */
describe("userAggregatorMachine with jobs planned ahead, a shortest path to every state (model-based)", () => {
  const paths = getShortestPaths(userAggregatorMachine, {
    input: defaultInput,
    events: (snapshot) => modelEvents(snapshot, true),
    serializeState: abstractState,
    stopWhen: (snapshot) => snapshot.status === "done",
    limit: 20_000,
  });

  silenceXStateWarnings();

  test("a planned job leaves idle for aggregating; an unplanned one for planning", () => {
    const fromIdle = paths.flatMap((path) =>
      path.steps.flatMap((step, i) => {
        const before = i === 0 ? "idle" : path.steps[i - 1]!.state.value;
        const job = (step.event as { job?: UserJob }).job;
        return before === "idle" && step.event.type === "JOB_RECEIVED" && job
          ? [{ planned: job.plannedDays !== undefined, to: JSON.stringify(step.state.value) }]
          : [];
      }),
    );
    expect(fromIdle).toContainEqual({ planned: true, to: JSON.stringify({ processingJob: "aggregating" }) });
    expect(fromIdle).toContainEqual({ planned: false, to: JSON.stringify({ processingJob: "planning" }) });
    for (const step of fromIdle)
      expect(step.to).toBe(JSON.stringify({ processingJob: step.planned ? "aggregating" : "planning" }));
    // Queues mixing both kinds were reached.
    const queues = new Set(
      paths.map((path) => JSON.stringify(path.state.context.queue.map((q) => q.plannedDays !== undefined))),
    );
    expect(queues).toEqual(
      new Set(["[]", "[true]", "[false]", "[true,true]", "[true,false]", "[false,true]", "[false,false]"]),
    );
  });

  test(
    "on every path the job channel closes once if closed is reached and never otherwise",
    async () => {
      for (const path of paths) {
        const h = await replay(path);
        expect(h.closeCalls).toHaveLength(path.state.status === "done" ? 1 : 0);
        h.actor.stop();
      }
    },
    replayTimeoutMs,
  );
});
