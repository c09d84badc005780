/**
 * The inspection stream (issue 5): a real user aggregator and batch
 * coordinator watched by the publisher; what goes on the wire is compact,
 * batched, valid `ActorEvent`s, and the rate limit drops and counts.
 */
import {
  type AggregateDaysInput,
  batchCoordinatorMachine,
  type JobPlan,
  type PlanJobInput,
  type ReportOutcomeInput,
  userAggregatorMachine,
} from "@agg/machines";
import { ActorEventSchema } from "@agg/protocol";
import { describe, expect, it, vi } from "vitest";
import {
  createActor,
  type EventObject,
  fromCallback,
  fromPromise,
  type InspectionEvent,
  waitFor,
} from "xstate";
import {
  createInspectionPublisher,
  type InspectionBatch,
  type InspectionForwarder,
} from "../src/inspection-events";

const decoder = new TextDecoder();

function capture() {
  const batches: InspectionBatch[] = [];
  const subjects: string[] = [];
  return {
    batches,
    subjects,
    publish: (subject: string, bytes: Uint8Array) => {
      subjects.push(subject);
      batches.push(JSON.parse(decoder.decode(bytes)) as InspectionBatch);
    },
    records: () => batches.flatMap((b) => b.events),
  };
}

const userMachine = userAggregatorMachine.provide({
  actors: {
    planJob: fromPromise<JobPlan, PlanJobInput>(async () => ({
      kind: "days",
      days: 3,
      range: { from: "2024-01-01", to: "2024-01-03" },
    })),
    aggregateDays: fromCallback<EventObject, AggregateDaysInput>(({ sendBack }) => {
      const timer = setTimeout(() => {
        for (const day of ["2024-01-01", "2024-01-02", "2024-01-03"])
          sendBack({ type: "DAY_PERSISTED", day, heartbeats: 10 });
        sendBack({ type: "AGGREGATION_FINISHED" });
      }, 1);
      return () => clearTimeout(timer);
    }),
    reportOutcome: fromPromise<void, ReportOutcomeInput>(async () => undefined),
  },
  actions: { closeJobChannel: () => undefined },
});

const coordinatorMachine = batchCoordinatorMachine.provide({
  actions: { publishProgress: () => undefined, publishFinalEvent: () => undefined },
});

/** A started coordinator `batch:<batchId>` of `userIds`, watched by `inspect`. */
function startCoordinator(batchId: string, userIds: string[], inspect: (event: InspectionEvent) => void) {
  return createActor(coordinatorMachine, {
    id: `batch:${batchId}`,
    input: { batchId, userIds, deadlineMs: 60_000 },
    inspect,
  }).start();
}

const job = { jobId: "b1:alice", batchId: "b1", userId: "alice", mode: "regenerate" as const };

describe("createInspectionPublisher", () => {
  it("publishes a user actor's life as compact ActorEvents, batched per flush", async () => {
    const sink = capture();
    const inspection = createInspectionPublisher({
      publish: sink.publish,
      subject: "agg.x.inspect.events.web-1",
      instance: "web-1",
      flushEveryMs: 60_000,
    });
    const actor = createActor(userMachine, {
      id: "user:alice",
      input: { userId: "alice", passivateAfterMs: 5, jobTimeoutMs: 10_000 },
      inspect: inspection.inspect,
    }).start();
    actor.send({ type: "JOB_RECEIVED", job });
    await waitFor(actor, (s) => s.context.jobsFinished === 1);
    expect(inspection.recentEvents("user:alice").map((e) => e.event)).toContain("AGGREGATION_FINISHED");
    await waitFor(actor, (s) => s.status === "done");
    inspection.stop();

    // One message: the timer never fired, stop() flushed once.
    expect(sink.batches).toHaveLength(1);
    expect(sink.subjects).toEqual(["agg.x.inspect.events.web-1"]);
    const batch = sink.batches[0]!;
    expect(batch).toMatchObject({ instance: "web-1", seq: 1, dropped: 0 });
    for (const record of batch.events) expect(ActorEventSchema.safeParse(record).success).toBe(true);

    const updates = batch.events.flatMap((r) => (r.type === "actor.updated" ? [r] : []));
    expect(new Set(updates.map((u) => u.actor.state))).toEqual(
      new Set(["idle", "processingJob.planning", "processingJob.aggregating", "reportingOutcome"]),
    );
    expect(updates.map((u) => u.event)).toEqual(
      expect.arrayContaining(["JOB_RECEIVED", "DAY_PERSISTED", "xstate.done.actor.planJob"]),
    );
    const aggregating = updates.filter((u) => u.event === "DAY_PERSISTED").at(-1)!;
    expect(aggregating.actor).toMatchObject({
      id: "user:alice",
      machine: "userAggregator",
      instance: "web-1",
      userId: "alice",
      batchId: "b1",
      counts: { daysDone: 3, daysTotal: 3, heartbeatsRead: 30, queue: 0 },
    });
    // Only numbers: no job objects, no ranges, no strings from the context.
    for (const u of updates) for (const v of Object.values(u.actor.counts)) expect(typeof v).toBe("number");

    expect(batch.events.at(-1)).toMatchObject({
      type: "actor.stopped",
      id: "user:alice",
      machine: "userAggregator",
      state: "closed",
      status: "done",
    });
    // A stopped actor's history is forgotten.
    expect(inspection.recentEvents("user:alice")).toEqual([]);
  });

  it("reduces a coordinator's sets to their sizes and reports its final state", () => {
    const sink = capture();
    const inspection = createInspectionPublisher({
      publish: sink.publish,
      subject: "s",
      instance: "web-2",
      flushEveryMs: 60_000,
    });
    const coordinator = startCoordinator("b9", ["a", "b"], inspection.inspect);
    coordinator.send({ type: "USER_REPORTED", userId: "a", outcome: "done" });
    coordinator.send({ type: "USER_REPORTED", userId: "b", outcome: "failed" });
    inspection.stop();
    const records = sink.records();
    const last = records.flatMap((r) => (r.type === "actor.updated" ? [r] : [])).at(-1)!;
    expect(last.actor).toMatchObject({
      id: "batch:b9",
      machine: "batchCoordinator",
      state: "collecting",
      batchId: "b9",
      counts: { covered: 2, done: 1, failed: 0, skipped: 0 },
    });
    expect(records.at(-1)).toMatchObject({ type: "actor.stopped", state: "failed", status: "done" });
  });

  it("drops and counts what exceeds the rate limit, but never an actor's end", () => {
    let clock = 1_000_000;
    const sink = capture();
    const inspection = createInspectionPublisher({
      publish: sink.publish,
      subject: "s",
      instance: "web-1",
      maxEventsPerSecond: 5,
      flushEveryMs: 60_000,
      now: () => clock,
    });
    const coordinator = startCoordinator("b2", ["x", "y"], inspection.inspect);
    // A flush after each event, so none folds into the previous one's record.
    for (let i = 0; i < 20; i++) {
      coordinator.send({ type: "USER_REPORTED", userId: "nobody", outcome: "done" });
      inspection.flush();
    }
    expect(sink.records()).toHaveLength(5);
    expect(inspection.dropped).toBe(16); // 21 snapshots (start + 20 events), 5 admitted
    clock += 1_000; // a new second: admitted again
    coordinator.send({ type: "USER_REPORTED", userId: "x", outcome: "done" });
    coordinator.stop();
    inspection.stop();
    const last = sink.batches.at(-1)!;
    expect(last.dropped).toBe(16);
    expect(last.events.map((r) => r.type)).toEqual(["actor.updated", "actor.stopped"]);
    expect(inspection.published).toBe(7);
  });

  it("folds events that keep an actor in its state into one record per flush; the recent ring keeps every event", () => {
    let clock = 1_000;
    const sink = capture();
    const inspection = createInspectionPublisher({
      publish: sink.publish,
      subject: "s",
      instance: "web-1",
      flushEveryMs: 60_000,
      recentPerActor: 4,
      now: () => clock++,
    });
    const coordinator = startCoordinator("b7", ["u1", "u2", "u3", "u4", "u5", "u6"], inspection.inspect);
    for (const u of ["u1", "u2", "u3"])
      coordinator.send({ type: "USER_REPORTED", userId: u, outcome: "done" });
    inspection.flush();
    for (const u of ["u4", "u5"]) coordinator.send({ type: "USER_REPORTED", userId: u, outcome: "done" });
    inspection.flush();

    const [first, second] = sink.batches;
    // The start snapshot (entering the state) keeps its own record; three reports fold into one.
    expect(first!.events).toMatchObject([
      { type: "actor.updated", event: "xstate.init", actor: { state: "collecting", counts: { done: 0 } } },
      { type: "actor.updated", event: "USER_REPORTED", coalesced: 3, actor: { counts: { done: 3 } } },
    ]);
    expect(first!.events[0]).not.toHaveProperty("coalesced");
    // The next interval starts a new record, with the latest counts.
    expect(second!.events).toMatchObject([
      { type: "actor.updated", event: "USER_REPORTED", coalesced: 2, actor: { counts: { done: 5 } } },
    ]);
    for (const record of [...first!.events, ...second!.events])
      expect(ActorEventSchema.safeParse(record).success).toBe(true);
    // agg.inspect's "last events it received": every event, not the folded records; the last 4.
    const recent = inspection.recentEvents("batch:b7");
    expect(recent.map((e) => e.event)).toEqual(Array(4).fill("USER_REPORTED"));
    expect(recent.map((e) => e.state)).toEqual(Array(4).fill("collecting"));
    expect(recent.map((e) => e.at)).toEqual([...recent.map((e) => e.at)].sort((a, b) => a - b));

    // A change of state always gets a record of its own, even within one interval.
    coordinator.send({ type: "USER_REPORTED", userId: "u6", outcome: "done" });
    inspection.stop();
    expect(sink.batches.at(-1)!.events).toMatchObject([
      { type: "actor.stopped", id: "batch:b7", state: "completed", event: "USER_REPORTED" },
    ]);
  });

  it("counts a failed publish and tells onError once, never throwing into the actor", () => {
    const onError = vi.fn();
    const inspection = createInspectionPublisher({
      publish: () => {
        throw new Error("connection closed");
      },
      subject: "s",
      instance: "web-1",
      flushEveryMs: 60_000,
      onError,
    });
    const coordinator = startCoordinator("b3", ["x"], inspection.inspect);
    inspection.flush();
    coordinator.send({ type: "USER_REPORTED", userId: "x", outcome: "done" });
    inspection.stop();
    expect(coordinator.getSnapshot().value).toBe("completed");
    expect(onError).toHaveBeenCalledTimes(1);
    expect(inspection.dropped).toBe(2); // the start snapshot, and the final one
  });

  it("forwards raw inspection events to a Stately forwarder, and survives one that is unavailable", async () => {
    const received: string[] = [];
    const stop = vi.fn();
    const forwarder: InspectionForwarder = { next: (e) => received.push(e.type), stop };
    const inspection = createInspectionPublisher({
      publish: () => undefined,
      subject: "s",
      instance: "web-1",
      statelyInspectUrl: "ws://127.0.0.1:9",
      createForwarder: async () => forwarder,
    });
    await new Promise((r) => setTimeout(r, 0));
    createActor(batchCoordinatorMachine, {
      input: { batchId: "b4", userIds: ["x"], deadlineMs: 60_000 },
      inspect: inspection.inspect,
    }).start();
    inspection.stop();
    expect(received).toEqual(expect.arrayContaining(["@xstate.actor", "@xstate.event", "@xstate.snapshot"]));
    expect(stop).toHaveBeenCalledTimes(1);

    const onError = vi.fn();
    const broken = createInspectionPublisher({
      publish: () => undefined,
      subject: "s",
      instance: "web-1",
      statelyInspectUrl: "ws://127.0.0.1:9",
      createForwarder: async () => {
        throw new Error("module not installed");
      },
      onError,
    });
    await new Promise((r) => setTimeout(r, 0));
    createActor(batchCoordinatorMachine, {
      input: { batchId: "b5", userIds: ["x"], deadlineMs: 60_000 },
      inspect: broken.inspect,
    }).start();
    broken.stop();
    expect(onError).toHaveBeenCalledWith("stately inspector unavailable", expect.any(Error));
  });

  it("costs little per inspection event", () => {
    const inspection = createInspectionPublisher({
      publish: () => undefined,
      subject: "s",
      instance: "web-1",
      maxEventsPerSecond: 1_000_000,
      flushEveryMs: 60_000,
    });
    const coordinator = startCoordinator("perf", ["x"], inspection.inspect);
    const n = 20_000;
    const started = performance.now();
    for (let i = 0; i < n; i++)
      coordinator.send({ type: "USER_REPORTED", userId: "nobody", outcome: "done" });
    inspection.flush();
    const perEventUs = ((performance.now() - started) * 1_000) / n;
    inspection.stop();
    // The whole send (machine step + inspection + one JSON message) stays in the microseconds.
    expect(perEventUs).toBeLessThan(200);
  });
});
