import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { createActor, fromCallback, fromPromise, SimulatedClock, toPromise } from "xstate";
import { type JobPlan, NotProvidedError, type PlanJobInput, userAggregatorMachine } from "../src/index";
import { createUserAggregatorHarness, defaultInput, flush, job } from "./support/user-aggregator-harness";

const days: JobPlan = { kind: "days", days: 2, range: { from: "2025-02-01", to: "2025-02-02" } };

let warn: ReturnType<typeof vi.spyOn>;
beforeEach(() => {
  warn = vi.spyOn(console, "warn").mockImplementation(() => {});
});
afterEach(() => warn.mockRestore());

describe("userAggregatorMachine", () => {
  test("runs a job through planning, aggregating and reporting, then waits idle", async () => {
    const h = createUserAggregatorHarness();
    h.actor.start();
    h.actor.send({ type: "JOB_RECEIVED", job: job("j1", { from: "2025-02-01" }) });
    expect(h.actor.getSnapshot().value).toEqual({ processingJob: "planning" });
    expect(h.state.plan?.input).toEqual({ job: job("j1", { from: "2025-02-01" }) });

    await h.resolvePlan(days);
    expect(h.actor.getSnapshot().value).toEqual({ processingJob: "aggregating" });
    expect(h.state.aggregation?.input.range).toEqual({ from: "2025-02-01", to: "2025-02-02" });
    expect(h.actor.getSnapshot().context.daysTotal).toBe(2);

    h.sendFromAggregation({ type: "DAY_PERSISTED", day: "2025-02-01", heartbeats: 10 });
    h.sendFromAggregation({ type: "DAY_PERSISTED", day: "2025-02-02", heartbeats: 5 });
    expect(h.actor.getSnapshot().context).toMatchObject({ daysDone: 2, heartbeatsRead: 15 });
    h.sendFromAggregation({ type: "AGGREGATION_FINISHED" });

    expect(h.actor.getSnapshot().value).toBe("reportingOutcome");
    expect(h.state.aggregation?.aborted).toBe(true); // stopped on leaving `aggregating`: the writer is done
    expect(h.reports).toEqual([
      { job: job("j1", { from: "2025-02-01" }), outcome: "done", daysWritten: 2, heartbeatsRead: 15 },
    ]);

    await h.resolveReport();
    expect(h.actor.getSnapshot().value).toBe("idle");
    expect(h.actor.getSnapshot().context).toMatchObject({
      currentJob: null,
      queue: [],
      jobsFinished: 1,
      lastError: null,
    });
    expect(h.closeCalls).toEqual([]);
  });

  test("a job whose last write recorded its outcome announces it and goes back to idle, with no report step", async () => {
    const h = createUserAggregatorHarness();
    h.actor.start();
    h.actor.send({ type: "JOB_RECEIVED", job: job("j1") });
    h.actor.send({ type: "JOB_RECEIVED", job: job("j2") });
    await h.resolvePlan(days);
    h.sendFromAggregation({ type: "DAY_PERSISTED", day: "2025-02-01", heartbeats: 10 });
    // The last write's day travels with the finish.
    h.sendFromAggregation({ type: "AGGREGATION_FINISHED", days: 1, heartbeats: 5, outcomeRecorded: true });

    expect(h.state.report).toBeNull(); // reportOutcome never ran
    expect(h.state.aggregation?.aborted).toBe(true);
    expect(h.reports).toEqual([{ job: job("j1"), outcome: "done", daysWritten: 2, heartbeatsRead: 15 }]);
    expect(h.log).toEqual([
      "plan:j1",
      "aggregate:j1",
      "report:j1:done",
      "reported:j1",
      "abort:j1",
      "plan:j2",
    ]);
    // Straight on to the next job, through idle.
    expect(h.actor.getSnapshot().value).toEqual({ processingJob: "planning" });
    expect(h.actor.getSnapshot().context).toMatchObject({
      currentJob: job("j2"),
      queue: [],
      jobsFinished: 1,
      daysDone: 0,
      outcome: null,
    });
    expect(h.closeCalls).toEqual([]);
  });

  test("a job planned ahead goes straight to aggregating with its plan: no planner, no planning state", async () => {
    const h = createUserAggregatorHarness();
    h.actor.start();
    const planned = job("j1", { plannedDays: { days: 2, range: { from: "2025-02-01", to: "2025-02-02" } } });
    h.actor.send({ type: "JOB_RECEIVED", job: planned });
    expect(h.actor.getSnapshot().value).toEqual({ processingJob: "aggregating" });
    expect(h.state.plan).toBeNull(); // planJob never ran
    expect(h.state.aggregation?.input).toEqual({
      job: planned,
      range: { from: "2025-02-01", to: "2025-02-02" },
    });
    expect(h.actor.getSnapshot().context).toMatchObject({ currentJob: planned, daysTotal: 2, daysDone: 0 });

    h.sendFromAggregation({ type: "AGGREGATION_FINISHED", days: 2, heartbeats: 7, outcomeRecorded: true });
    expect(h.reports).toEqual([{ job: planned, outcome: "done", daysWritten: 2, heartbeatsRead: 7 }]);
    expect(h.log).toEqual(["aggregate:j1", "report:j1:done", "reported:j1", "abort:j1"]);
    expect(h.actor.getSnapshot().value).toBe("idle");
  });

  test("the job timeout covers a job planned ahead too", async () => {
    const h = createUserAggregatorHarness();
    h.actor.start();
    h.actor.send({
      type: "JOB_RECEIVED",
      job: job("j1", { plannedDays: { days: 1, range: { from: "2025-02-01", to: "2025-02-01" } } }),
    });
    h.clock.increment(defaultInput.jobTimeoutMs);
    await flush();
    expect(h.state.aggregation?.aborted).toBe(true);
    expect(h.reports).toEqual([
      expect.objectContaining({
        outcome: "failed",
        reason: `timeout: job exceeded ${defaultInput.jobTimeoutMs} ms`,
      }),
    ]);
  });

  test("after a job planned ahead, an unplanned one is planned as usual", async () => {
    const h = createUserAggregatorHarness({
      ...defaultInput,
      jobs: [
        job("j1", { plannedDays: { days: 1, range: { from: "2025-02-01", to: "2025-02-01" } } }),
        job("j2"),
      ],
    });
    h.actor.start();
    expect(h.actor.getSnapshot().value).toEqual({ processingJob: "aggregating" });
    h.sendFromAggregation({ type: "AGGREGATION_FINISHED", days: 1, heartbeats: 1, outcomeRecorded: true });
    expect(h.actor.getSnapshot().value).toEqual({ processingJob: "planning" });
    expect(h.state.plan?.input).toEqual({ job: job("j2") });
    expect(h.actor.getSnapshot().context).toMatchObject({ daysTotal: 0, range: null });
  });

  test("AGGREGATION_FINISHED without a recorded outcome still reports it, counting the last write's days", async () => {
    const h = createUserAggregatorHarness();
    h.actor.start();
    h.actor.send({ type: "JOB_RECEIVED", job: job("j1") });
    await h.resolvePlan(days);
    h.sendFromAggregation({ type: "AGGREGATION_FINISHED", days: 2, heartbeats: 7, outcomeRecorded: false });
    expect(h.actor.getSnapshot().value).toBe("reportingOutcome");
    expect(h.reports).toEqual([{ job: job("j1"), outcome: "done", daysWritten: 2, heartbeatsRead: 7 }]);
  });

  test("an actor started with jobs in its input begins the first at once, as if each had been received", async () => {
    const h = createUserAggregatorHarness({
      ...defaultInput,
      jobs: [job("j1"), job("j1"), job("x", { userId: "bob" }), job("j2")],
    });
    h.actor.start();
    expect(h.actor.getSnapshot().value).toEqual({ processingJob: "planning" });
    expect(h.actor.getSnapshot().context.currentJob).toEqual(job("j1"));
    // The repeated id and bob's job are left out, as JOB_RECEIVED's guard would.
    expect(h.actor.getSnapshot().context.queue).toEqual([job("j2")]);
    expect(h.log).toEqual(["plan:j1"]);
  });

  test.each([
    [{ kind: "no-heartbeats" } as JobPlan, "skipped", "no-heartbeats"],
    [{ kind: "up-to-date" } as JobPlan, "done", "up-to-date"],
  ])("a plan of %o reports %s with 0 days", async (plan, outcome, reason) => {
    const h = createUserAggregatorHarness();
    h.actor.start();
    h.actor.send({ type: "JOB_RECEIVED", job: job("j1") });
    await h.resolvePlan(plan);
    expect(h.log).toEqual(["plan:j1", `report:j1:${outcome}`]);
    expect(h.reports[0]).toEqual({ job: job("j1"), outcome, reason, daysWritten: 0, heartbeatsRead: 0 });
  });

  test.each([
    ["planning fails", "planning: database down"],
    ["aggregation fails", "aggregating: disk full"],
    ["the writer crashes", "aggregating: writer crashed"],
  ])("when %s, the job is reported failed with the reason", async (what, reason) => {
    const h = createUserAggregatorHarness();
    h.actor.start();
    h.actor.send({ type: "JOB_RECEIVED", job: job("j1") });
    if (what === "planning fails") await h.rejectPlan(new Error("database down"));
    else {
      await h.resolvePlan(days);
      h.sendFromAggregation({ type: "DAY_PERSISTED", day: "2025-02-01", heartbeats: 4 });
      if (what === "aggregation fails")
        h.sendFromAggregation({ type: "AGGREGATION_FAILED", error: "disk full" });
      else h.crashAggregation();
      await flush();
    }
    expect(h.actor.getSnapshot().value).toBe("reportingOutcome");
    expect(h.reports[0]).toMatchObject({ outcome: "failed", reason });
    expect(h.actor.getSnapshot().context.lastError).toBe(reason);
    await h.resolveReport();
    expect(h.actor.getSnapshot().value).toBe("idle"); // a failed job does not end the actor
  });

  test("single flight: a second job waits in the queue until the first one's outcome is reported", async () => {
    const h = createUserAggregatorHarness();
    h.actor.start();
    h.actor.send({ type: "JOB_RECEIVED", job: job("j1") });
    h.actor.send({ type: "JOB_RECEIVED", job: job("j2", { mode: "regenerate" }) });
    expect(h.actor.getSnapshot().context.queue).toEqual([job("j2", { mode: "regenerate" })]);

    await h.resolvePlan(days);
    h.actor.send({ type: "JOB_RECEIVED", job: job("j3") });
    h.sendFromAggregation({ type: "AGGREGATION_FINISHED" });
    expect(h.log).toEqual(["plan:j1", "aggregate:j1", "abort:j1", "report:j1:done"]);
    expect(h.actor.getSnapshot().context.currentJob?.jobId).toBe("j1");

    await h.resolveReport();
    expect(h.actor.getSnapshot().value).toEqual({ processingJob: "planning" });
    expect(h.actor.getSnapshot().context.currentJob?.jobId).toBe("j2");
    await h.resolvePlan(days);
    h.sendFromAggregation({ type: "AGGREGATION_FINISHED" });
    await h.resolveReport();
    await h.resolvePlan({ kind: "up-to-date" });
    await h.resolveReport();

    expect(h.log).toEqual([
      "plan:j1",
      "aggregate:j1",
      "abort:j1",
      "report:j1:done",
      "reported:j1",
      "plan:j2",
      "aggregate:j2",
      "abort:j2",
      "report:j2:done",
      "reported:j2",
      "plan:j3",
      "report:j3:done",
      "reported:j3",
    ]);
    // Job 2's aggregation started only after job 1's outcome was reported.
    expect(h.log.indexOf("aggregate:j2")).toBeGreaterThan(h.log.indexOf("reported:j1"));
    expect(h.actor.getSnapshot().context.jobsFinished).toBe(3);
  });

  test("a redelivered job (same jobId) and a job for another user are ignored", async () => {
    const h = createUserAggregatorHarness();
    h.actor.start();
    h.actor.send({ type: "JOB_RECEIVED", job: job("j1") });
    h.actor.send({ type: "JOB_RECEIVED", job: job("j2") });
    const before = h.actor.getSnapshot();
    h.actor.send({ type: "JOB_RECEIVED", job: job("j1") });
    h.actor.send({ type: "JOB_RECEIVED", job: job("j2") });
    h.actor.send({ type: "JOB_RECEIVED", job: job("j9", { userId: "bob" }) });
    expect(h.actor.getSnapshot().context).toEqual(before.context);
  });

  test("passivates after `passivateAfter` of simulated idleness, closing the channel once", async () => {
    const h = createUserAggregatorHarness();
    h.actor.start();
    h.clock.increment(defaultInput.passivateAfterMs - 1);
    expect(h.actor.getSnapshot().value).toBe("idle");
    h.clock.increment(1);
    expect(h.actor.getSnapshot().value).toBe("closed");
    expect(h.closeCalls).toEqual([
      { userId: "alice", reason: "passivated", currentJob: null, queuedJobs: [] },
    ]);
    expect(await toPromise(h.actor)).toEqual({ userId: "alice", closeReason: "passivated", jobsFinished: 0 });
  });

  test("the idle timer restarts after each job", async () => {
    const h = createUserAggregatorHarness();
    h.actor.start();
    h.clock.increment(defaultInput.passivateAfterMs - 10);
    h.actor.send({ type: "JOB_RECEIVED", job: job("j1") });
    await h.resolvePlan({ kind: "up-to-date" });
    await h.resolveReport();
    h.clock.increment(defaultInput.passivateAfterMs - 1);
    expect(h.actor.getSnapshot().value).toBe("idle");
    h.clock.increment(1);
    expect(h.actor.getSnapshot().value).toBe("closed");
  });

  test("a job exceeding `jobTimeout` is reported failed and its writer aborted", async () => {
    const h = createUserAggregatorHarness();
    h.actor.start();
    h.actor.send({ type: "JOB_RECEIVED", job: job("j1") });
    h.clock.increment(1_000);
    await h.resolvePlan(days);
    h.sendFromAggregation({ type: "DAY_PERSISTED", day: "2025-02-01", heartbeats: 7 });
    h.clock.increment(defaultInput.jobTimeoutMs - 1_001);
    expect(h.actor.getSnapshot().value).toEqual({ processingJob: "aggregating" });
    h.clock.increment(1); // the timeout covers planning and aggregating together
    expect(h.actor.getSnapshot().value).toBe("reportingOutcome");
    expect(h.state.aggregation?.aborted).toBe(true);
    expect(h.reports).toEqual([
      {
        job: job("j1"),
        outcome: "failed",
        reason: "timeout: job exceeded 60000 ms",
        daysWritten: 1,
        heartbeatsRead: 7,
      },
    ]);
    // A late event from the aborted writer changes nothing.
    h.state.aggregation?.sendBack({ type: "AGGREGATION_FINISHED" });
    expect(h.actor.getSnapshot().value).toBe("reportingOutcome");
  });

  test("a stuck planner times out as well, and its signal is aborted", async () => {
    const h = createUserAggregatorHarness();
    h.actor.start();
    h.actor.send({ type: "JOB_RECEIVED", job: job("j1") });
    h.clock.increment(defaultInput.jobTimeoutMs);
    expect(h.state.plan?.signal.aborted).toBe(true);
    expect(h.reports[0]).toMatchObject({ outcome: "failed", reason: "timeout: job exceeded 60000 ms" });
  });

  test("CANCEL while aggregating aborts the writer and hands back the job and the queue", async () => {
    const h = createUserAggregatorHarness();
    h.actor.start();
    h.actor.send({ type: "JOB_RECEIVED", job: job("j1") });
    h.actor.send({ type: "JOB_RECEIVED", job: job("j2") });
    await h.resolvePlan(days);
    h.actor.send({ type: "CANCEL", reason: "lease-lost" });
    // Both happen within the CANCEL's macrostep (XState stops children right after the entry actions).
    expect(h.log).toEqual(["plan:j1", "aggregate:j1", "close:lease-lost", "abort:j1"]);
    expect(h.closeCalls).toEqual([
      { userId: "alice", reason: "lease-lost", currentJob: job("j1"), queuedJobs: [job("j2")] },
    ]);
    expect(h.reports).toEqual([]); // nothing is reported for work handed back
  });

  test("a failed outcome report closes the actor and hands back the unreported job", async () => {
    const h = createUserAggregatorHarness();
    h.actor.start();
    h.actor.send({ type: "JOB_RECEIVED", job: job("j1") });
    await h.resolvePlan({ kind: "up-to-date" });
    await h.rejectReport(new Error("nats down"));
    expect(h.actor.getSnapshot().value).toBe("closed");
    expect(h.actor.getSnapshot().context.lastError).toBe("nats down");
    expect(h.closeCalls).toEqual([
      { userId: "alice", reason: "report-failed", currentJob: job("j1"), queuedJobs: [] },
    ]);
  });

  test("a report that hangs past `jobTimeout` closes the actor", async () => {
    const h = createUserAggregatorHarness();
    h.actor.start();
    h.actor.send({ type: "JOB_RECEIVED", job: job("j1") });
    await h.resolvePlan({ kind: "no-heartbeats" });
    h.clock.increment(defaultInput.jobTimeoutMs);
    expect(h.closeCalls).toEqual([
      { userId: "alice", reason: "report-timeout", currentJob: job("j1"), queuedJobs: [] },
    ]);
    expect(h.state.report?.signal.aborted).toBe(true);
  });

  test("unprovided I/O fails loudly, naming what is missing", async () => {
    const actor = createActor(userAggregatorMachine, { input: defaultInput, clock: new SimulatedClock() });
    actor.subscribe({ error: () => {} });
    actor.start();
    actor.send({ type: "JOB_RECEIVED", job: job("j1") });
    await flush();
    // The placeholder planner rejected: the job failed, naming the missing actor.
    expect(actor.getSnapshot().context.lastError).toBe(
      `planning: ${new NotProvidedError("actor", "planJob").message}`,
    );
    await flush();
    // The placeholder reporter rejected too, and entering `closed` ran the placeholder `closeJobChannel`.
    expect(actor.getSnapshot().status).toBe("error");
    expect(actor.getSnapshot().error).toEqual(new NotProvidedError("action", "closeJobChannel"));
  });

  test("provided implementations replace the placeholders (the engine's wiring)", async () => {
    const closed: string[] = [];
    const machine = userAggregatorMachine.provide({
      actors: {
        planJob: fromPromise<JobPlan, PlanJobInput>(async () => ({
          kind: "days",
          days: 1,
          range: { from: "2025-02-01", to: "2025-02-01" },
        })),
        aggregateDays: fromCallback(({ sendBack }) => {
          sendBack({ type: "DAY_PERSISTED", day: "2025-02-01", heartbeats: 3 });
          sendBack({ type: "AGGREGATION_FINISHED" });
        }),
        reportOutcome: fromPromise(async () => {}),
      },
      actions: { closeJobChannel: (_, params) => closed.push(params.reason) },
      delays: { passivateAfter: 5 },
    });
    const clock = new SimulatedClock();
    const actor = createActor(machine, { input: defaultInput, clock }).start();
    actor.send({ type: "JOB_RECEIVED", job: job("j1") });
    await flush();
    expect(actor.getSnapshot().context).toMatchObject({ jobsFinished: 1, daysDone: 1, heartbeatsRead: 3 });
    clock.increment(5);
    expect(closed).toEqual(["passivated"]);
  });
});
