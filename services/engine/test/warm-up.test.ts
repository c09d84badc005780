/** The start-up warm-up: made-up jobs through the real machine, in memory, each to the machine's end. */
import { batchCoordinatorMachine, userAggregatorMachine } from "@agg/machines";
import { describe, expect, it } from "vitest";
import type { InspectionEvent } from "xstate";
import { warmUpUserAggregator } from "../src/warm-up";

describe("warmUpUserAggregator", () => {
  it("runs every job through planning, aggregating and reporting to the final state", async () => {
    const finals = new Map<string, { value: unknown; jobsFinished: number }>();
    const visited = new Set<string>();
    const inspect = (event: InspectionEvent) => {
      if (event.type !== "@xstate.snapshot") return;
      const snapshot = event.snapshot as { status: string; value?: unknown; context?: unknown };
      if (typeof snapshot.value === "string") visited.add(snapshot.value);
      else if (snapshot.value && typeof snapshot.value === "object") {
        for (const [outer, inner] of Object.entries(snapshot.value)) visited.add(`${outer}.${String(inner)}`);
      }
      const context = snapshot.context as { userId?: string; jobsFinished?: number } | undefined;
      if (snapshot.status === "done" && context?.userId) {
        finals.set(context.userId, { value: snapshot.value, jobsFinished: context.jobsFinished ?? 0 });
      }
    };
    const ms = await warmUpUserAggregator(userAggregatorMachine, { jobs: 25, inFlight: 10, inspect });
    expect(ms).toBeGreaterThanOrEqual(0);
    expect(finals.size).toBe(25);
    for (const final of finals.values()) expect(final).toEqual({ value: "closed", jobsFinished: 1 });
    expect([...visited]).toEqual(
      expect.arrayContaining([
        "idle",
        "processingJob.planning",
        "processingJob.aggregating",
        "reportingOutcome",
        "closed",
      ]),
    );
  });

  it("with a coordinator, runs the jobs as batches, each counted to its final state", async () => {
    const finals: { id: string; value: unknown; done: number; users: number }[] = [];
    const inspect = (event: InspectionEvent) => {
      if (event.type !== "@xstate.snapshot") return;
      const id = (event.actorRef as { id?: string }).id ?? "";
      if (!id.startsWith("batch:")) return;
      const snapshot = event.snapshot as unknown as {
        status: string;
        value: unknown;
        context: { done: number; covered: ReadonlySet<string> };
      };
      if (snapshot.status === "done")
        finals.push({
          id,
          value: snapshot.value,
          done: snapshot.context.done,
          users: snapshot.context.covered.size,
        });
    };
    const coordinator = batchCoordinatorMachine.provide({
      actions: { publishProgress: () => undefined, publishFinalEvent: () => undefined },
    });
    await warmUpUserAggregator(userAggregatorMachine, { jobs: 45, inFlight: 20, inspect, coordinator });
    expect(finals).toEqual([
      { id: "batch:warm-up-0", value: "completed", done: 20, users: 20 },
      { id: "batch:warm-up-20", value: "completed", done: 20, users: 20 },
      { id: "batch:warm-up-40", value: "completed", done: 5, users: 5 },
    ]);
  });

  it("never calls the engine's own actions: the warm-up provides its own", async () => {
    const called: string[] = [];
    const coordinator = batchCoordinatorMachine.provide({
      actions: {
        publishProgress: () => called.push("publishProgress"),
        publishFinalEvent: () => called.push("publishFinalEvent"),
      },
    });
    await warmUpUserAggregator(userAggregatorMachine, { jobs: 10, inFlight: 10, coordinator });
    expect(called).toEqual([]);
  });

  it("does nothing for zero jobs", async () => {
    const events: InspectionEvent[] = [];
    await warmUpUserAggregator(userAggregatorMachine, { jobs: 0, inspect: (e) => events.push(e) });
    expect(events).toEqual([]);
  });

  it("stops before the round where keepGoing says no: whole rounds only", async () => {
    const started = new Set<string>();
    const inspect = (event: InspectionEvent) => {
      if (event.type !== "@xstate.actor") return;
      const id = (event.actorRef as { id?: string }).id ?? "";
      if (id.startsWith("user:")) started.add(id);
    };
    let asked = 0;
    // Yes for two rounds, then no: two rounds of 10 of the 50 jobs run.
    const keepGoing = () => ++asked <= 2;
    await warmUpUserAggregator(userAggregatorMachine, { jobs: 50, inFlight: 10, inspect, keepGoing });
    expect(asked).toBe(3);
    expect(started.size).toBe(20);
  });
});
