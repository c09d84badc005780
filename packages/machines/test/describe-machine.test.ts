import { describe, expect, test } from "vitest";
import { batchCoordinatorMachine, describeMachine, userAggregatorMachine } from "../src/index";

describe("describeMachine", () => {
  const user = describeMachine(userAggregatorMachine);
  const stateOf = (id: string) => user.states.find((state) => state.id === id)!;

  test("lists every state node of the user aggregator, root first, with its type", () => {
    expect(user.id).toBe("userAggregator");
    expect(user.states.map((state) => [state.id, state.type])).toEqual([
      ["userAggregator", "compound"],
      ["userAggregator.idle", "atomic"],
      ["userAggregator.processingJob", "compound"],
      ["userAggregator.processingJob.planning", "atomic"],
      ["userAggregator.processingJob.aggregating", "atomic"],
      ["userAggregator.reportingOutcome", "atomic"],
      ["userAggregator.closed", "final"],
    ]);
    expect(stateOf("userAggregator.processingJob.planning").path).toEqual(["processingJob", "planning"]);
    expect(stateOf("userAggregator").initial).toBe("userAggregator.idle");
  });

  test("shows transitions, timers, invoked actors and the one place the channel is closed", () => {
    expect(stateOf("userAggregator").on).toContainEqual({
      event: "CANCEL",
      target: "userAggregator.closed",
      actions: ["recordCloseReason"],
    });
    expect(stateOf("userAggregator").on).toContainEqual({
      event: "JOB_RECEIVED",
      target: null,
      guard: "isNewJobForThisUser",
      actions: ["enqueueJob"],
    });
    expect(stateOf("userAggregator.idle").after).toEqual([
      {
        event: "xstate.after.passivateAfter.userAggregator.idle",
        delay: "passivateAfter",
        target: "userAggregator.closed",
        actions: ["recordCloseReason"],
      },
    ]);
    expect(stateOf("userAggregator.idle").always).toEqual([
      {
        event: "",
        target: "userAggregator.processingJob.aggregating",
        guard: "nextJobIsPlanned",
        actions: ["startNextQueuedJob"],
      },
      {
        event: "",
        target: "userAggregator.processingJob",
        guard: "hasQueuedJob",
        actions: ["startNextQueuedJob"],
      },
    ]);
    expect(stateOf("userAggregator.idle").entry).toEqual([]); // the timer's own scheduling is not listed
    expect(stateOf("userAggregator.processingJob.planning").invoke).toEqual([
      { id: "planJob", src: "planJob" },
    ]);
    expect(
      stateOf("userAggregator.processingJob.planning").on.map((t) => [t.event, t.target, t.guard]),
    ).toEqual([
      ["xstate.done.actor.planJob", "userAggregator.reportingOutcome", "planIs"],
      ["xstate.done.actor.planJob", "userAggregator.reportingOutcome", "planIs"],
      ["xstate.done.actor.planJob", "userAggregator.processingJob.aggregating", undefined],
      ["xstate.error.actor.planJob", "userAggregator.reportingOutcome", undefined],
    ]);
    const closers = user.states.filter((state) => state.entry.includes("closeJobChannel"));
    expect(closers.map((state) => state.id)).toEqual(["userAggregator.closed"]);
    const transitionsThatClose = user.states.flatMap((s) => [...s.on, ...s.after, ...s.always]);
    expect(transitionsThatClose.some((t) => t.actions.includes("closeJobChannel"))).toBe(false);
  });

  test("the coordinator publishes its final event only on entry of its final states", () => {
    const coordinator = describeMachine(batchCoordinatorMachine);
    const finals = coordinator.states.filter((state) => state.type === "final");
    expect(finals.map((state) => state.id)).toEqual([
      "batchCoordinator.completed",
      "batchCoordinator.failed",
      "batchCoordinator.cancelled",
    ]);
    for (const state of finals) expect(state.entry).toEqual(["publishFinalEvent"]);
    const publishers = coordinator.states.filter((state) => state.entry.includes("publishFinalEvent"));
    expect(publishers).toEqual(finals);
    expect(coordinator.states.find((s) => s.id === "batchCoordinator.collecting")!.after).toEqual([
      {
        event: "xstate.after.batchDeadline.batchCoordinator.collecting",
        delay: "batchDeadline",
        target: "batchCoordinator.failed",
        actions: ["countUnreportedAsFailed"],
      },
    ]);
  });

  test("is plain JSON", () => {
    expect(JSON.parse(JSON.stringify(user))).toEqual(user);
  });
});
