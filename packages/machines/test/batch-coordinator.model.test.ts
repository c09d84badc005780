import { describe, expect, test } from "vitest";
import { getSimplePaths, type StatePath } from "xstate/graph";
import {
  type BatchCoordinatorEvent,
  type BatchCoordinatorInput,
  type BatchCoordinatorSnapshot,
  type BatchStatus,
  batchCoordinatorMachine,
  batchStatusOf,
  type UserOutcome,
} from "../src/index";
import { createBatchCoordinatorHarness } from "./support/batch-coordinator-harness";
import { silenceXStateWarnings } from "./support/silence-xstate-warnings";

/**
 * Model-based test of the batch coordinator: every simple path of reports
 * (each user, each outcome, in every order), cancellation and the deadline,
 * replayed on a real actor with a simulated clock. On every step, the final
 * event has been published exactly once if a final state was reached and never
 * otherwise, the counts equal an independent tally of the path, and a
 * duplicate or foreign report changes nothing.
 */

const deadlineTimer = "xstate.after.batchDeadline.batchCoordinator.collecting";
const outcomes: readonly UserOutcome[] = ["done", "failed", "skipped"];

/** What the model feeds the machine: its events and the deadline firing. */
type ModelEvent = BatchCoordinatorEvent | { readonly type: typeof deadlineTimer };

/** Reports of every outcome for every user the batch covers (those already counted included), and the rest. */
function modelEvents(input: BatchCoordinatorInput): BatchCoordinatorEvent[] {
  const users = [...input.userIds, ...(input.alreadyReported ?? []).map((r) => r.userId)];
  return [
    ...users.flatMap((userId) =>
      outcomes.map((outcome) => ({ type: "USER_REPORTED" as const, userId, outcome })),
    ),
    { type: "USER_REPORTED", userId: "stranger", outcome: "failed" },
    { type: "CANCEL", reason: "operator" },
    { type: deadlineTimer } as unknown as BatchCoordinatorEvent,
  ];
}

function abstractState(snapshot: BatchCoordinatorSnapshot): string {
  return JSON.stringify({ ...batchStatusOf(snapshot), reported: [...snapshot.context.reported].sort() });
}

/** The counts a path must produce, tallied without the machine. */
function tally(input: BatchCoordinatorInput, events: readonly ModelEvent[]): Omit<BatchStatus, "batchId"> {
  const outcomeOf = new Map<string, UserOutcome>();
  const covered = new Set([...input.userIds, ...(input.alreadyReported ?? []).map((r) => r.userId)]);
  for (const { userId, outcome } of input.alreadyReported ?? [])
    if (!outcomeOf.has(userId)) outcomeOf.set(userId, outcome);
  let state: BatchStatus["state"] = "running";
  for (const event of events) {
    if (state !== "running") break;
    if (event.type === "USER_REPORTED") {
      const { userId, outcome } = event;
      if (covered.has(userId) && !outcomeOf.has(userId)) outcomeOf.set(userId, outcome);
    } else if (event.type === "CANCEL") state = "cancelled";
    else if (event.type === deadlineTimer) {
      for (const userId of covered) if (!outcomeOf.has(userId)) outcomeOf.set(userId, "failed");
    }
    if (state === "running" && outcomeOf.size === covered.size) {
      state = [...outcomeOf.values()].includes("failed") ? "failed" : "completed";
    }
  }
  const count = (o: UserOutcome) => [...outcomeOf.values()].filter((v) => v === o).length;
  return {
    state,
    users: covered.size,
    done: count("done"),
    failed: count("failed"),
    skipped: count("skipped"),
  };
}

async function replay(
  input: BatchCoordinatorInput,
  path: StatePath<BatchCoordinatorSnapshot, BatchCoordinatorEvent>,
) {
  const h = createBatchCoordinatorHarness(input);
  h.actor.start();
  const delivered: ModelEvent[] = [];
  for (const step of path.steps) {
    const event = step.event as ModelEvent | { readonly type: "xstate.init" };
    if (event.type === "xstate.init") continue;
    if (event.type === deadlineTimer) h.clock.increment(input.deadlineMs);
    else h.actor.send(event);
    delivered.push(event);
    const where = JSON.stringify(delivered);
    const snapshot = h.actor.getSnapshot();
    expect(snapshot.value, where).toEqual(step.state.value);
    expect(batchStatusOf(snapshot), where).toEqual({ batchId: input.batchId, ...tally(input, delivered) });
    expect(h.finalEvents.length, where).toBe(snapshot.status === "done" ? 1 : 0);

    if (step.event.type === "USER_REPORTED" && snapshot.status === "active") {
      // Redelivery and strays: nothing changes, nothing is published.
      const progressBefore = h.progress.length;
      h.actor.send(step.event);
      h.actor.send({ type: "USER_REPORTED", userId: "nobody", outcome: "done" });
      expect(h.actor.getSnapshot().context, where).toEqual(snapshot.context);
      expect(h.progress.length, where).toBe(progressBefore);
    }
  }
  return h;
}

describe.each([
  ["three users", { batchId: "b1", userIds: ["u1", "u2", "u3"], deadlineMs: 60_000 }],
  [
    "two users, an unknown user skipped at acceptance and one outcome recovered after a restart",
    {
      batchId: "b2",
      userIds: ["u1", "u2"],
      alreadyReported: [
        { userId: "ghost", outcome: "skipped" },
        { userId: "u3", outcome: "done" },
      ],
      deadlineMs: 60_000,
    },
  ],
] as [string, BatchCoordinatorInput][])(
  "batchCoordinatorMachine, every simple path with %s (model-based)",
  (_, input) => {
    const paths = getSimplePaths(batchCoordinatorMachine, {
      input,
      events: modelEvents(input),
      serializeState: abstractState,
      // A pure transition is not an actor: only a running actor drops events after its final state.
      stopWhen: (snapshot) => snapshot.status === "done",
      // A machine whose abstract state grew without bound (e.g. counting duplicates) fails here instead of hanging.
      limit: 20_000,
    });

    silenceXStateWarnings();

    test("the model reaches every final state through reports, cancellation and the deadline", () => {
      const values = new Set(paths.map((path) => path.state.value));
      expect(values).toEqual(new Set(["collecting", "completed", "failed", "cancelled"]));
      const lastEvents = new Set(
        paths.filter((p) => p.state.status === "done").map((p) => p.steps.at(-1)!.event.type),
      );
      expect(lastEvents).toEqual(new Set(["USER_REPORTED", "CANCEL", deadlineTimer]));
    });

    test("the final event is published exactly once on every path to a final state, never before", async () => {
      for (const path of paths) {
        const h = await replay(input, path);
        const snapshot = h.actor.getSnapshot();
        if (snapshot.status !== "done") {
          expect(h.finalEvents).toEqual([]);
          h.actor.stop();
          continue;
        }
        expect(h.finalEvents).toEqual([batchStatusOf(snapshot)]);
        expect(snapshot.output).toEqual(batchStatusOf(snapshot));
        // Progress went out once per counted report, none after the end.
        const counted = h.progress.length;
        for (const event of modelEvents(input)) h.actor.send(event);
        h.clock.increment(10 * input.deadlineMs);
        expect(h.finalEvents).toHaveLength(1);
        expect(h.progress).toHaveLength(counted);
        expect(h.actor.getSnapshot()).toBe(snapshot);
      }
    });
  },
);
