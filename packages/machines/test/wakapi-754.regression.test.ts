import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { createActor, fromCallback, fromPromise, SimulatedClock } from "xstate";
import { type JobPlan, type UserJob, type UserOutcome, userAggregatorMachine } from "../src/index";
import { createBatchCoordinatorHarness } from "./support/batch-coordinator-harness";
import { flush } from "./support/user-aggregator-harness";

/**
 * Wakapi #754 (https://github.com/muety/wakapi/issues/754): in Feb 2025 the
 * summary aggregation crashed with `panic: close of closed channel`, because
 * every per-user worker closed one shared job channel, and many workers
 * finished in the same tick. These tests pin that shape: hundreds of users
 * finishing together, some failing, some unknown, every report delivered twice.
 */

/** A job channel that panics like Go's when closed twice. */
class JobChannel {
  closes = 0;
  close(): void {
    this.closes += 1;
    if (this.closes > 1) throw new Error("panic: close of closed channel");
  }
}

const knownUsers = Array.from({ length: 520 }, (_, i) => `user-${i}`);
const unknownUsers = Array.from({ length: 40 }, (_, i) => `ghost-${i}`);
/** Every 7th user fails, every 11th (not failing) has nothing to aggregate. */
const outcomeOf = (i: number): UserOutcome => (i % 7 === 0 ? "failed" : i % 11 === 0 ? "skipped" : "done");
const expected = {
  failed: knownUsers.filter((_, i) => outcomeOf(i) === "failed").length,
  skipped: knownUsers.filter((_, i) => outcomeOf(i) === "skipped").length + unknownUsers.length,
  done: knownUsers.filter((_, i) => outcomeOf(i) === "done").length,
};

let warn: ReturnType<typeof vi.spyOn>;
beforeEach(() => {
  // Duplicates that arrive after the final state make XState warn; that is the point of the test.
  warn = vi.spyOn(console, "warn").mockImplementation(() => {});
});
afterEach(() => warn.mockRestore());

describe("Wakapi #754: close of closed channel when many users finish in the same tick", () => {
  test("a coordinator fed 560 users' reports in one synchronous loop, each delivered twice", () => {
    const h = createBatchCoordinatorHarness({
      batchId: "batch-754",
      userIds: knownUsers,
      alreadyReported: unknownUsers.map((userId) => ({ userId, outcome: "skipped" as const })),
      deadlineMs: 60_000,
    });
    h.actor.start();
    expect(() => {
      knownUsers.forEach((userId, i) => {
        h.actor.send({ type: "USER_REPORTED", userId, outcome: outcomeOf(i) });
        h.actor.send({ type: "USER_REPORTED", userId, outcome: outcomeOf(i) });
      });
      // ...and the whole stream redelivered once more, after the end.
      for (const userId of knownUsers) h.actor.send({ type: "USER_REPORTED", userId, outcome: "done" });
    }).not.toThrow();
    h.clock.increment(120_000);

    const final = { batchId: "batch-754", state: "failed", users: 560, ...expected };
    expect(h.finalEvents).toEqual([final]);
    expect(h.actor.getSnapshot().output).toEqual(final);
    expect(h.progress).toHaveLength(knownUsers.length);
    expect(h.progress.at(-1)).toEqual({ ...final, state: "running" });
  });

  test("520 user aggregators finishing and passivating in the same tick each close their own channel once", async () => {
    const coordinator = createBatchCoordinatorHarness({
      batchId: "batch-754",
      userIds: knownUsers,
      alreadyReported: unknownUsers.map((userId) => ({ userId, outcome: "skipped" as const })),
      deadlineMs: 600_000,
    });
    coordinator.actor.start();

    const clock = new SimulatedClock();
    const channels = new Map(knownUsers.map((userId) => [userId, new JobChannel()]));
    const machine = userAggregatorMachine.provide({
      actors: {
        planJob: fromPromise<JobPlan, { job: UserJob }>(async ({ input }) => {
          const i = knownUsers.indexOf(input.job.userId);
          if (outcomeOf(i) === "failed") throw new Error("database down");
          if (outcomeOf(i) === "skipped") return { kind: "no-heartbeats" };
          return { kind: "days", days: 1, range: { from: "2025-02-10", to: "2025-02-10" } };
        }),
        aggregateDays: fromCallback(({ sendBack }) => {
          sendBack({ type: "DAY_PERSISTED", day: "2025-02-10", heartbeats: 12 });
          sendBack({ type: "AGGREGATION_FINISHED" });
        }),
        // The engine acks and tells the coordinator; redelivery makes every report arrive twice.
        reportOutcome: fromPromise(async ({ input }) => {
          const report = { type: "USER_REPORTED", userId: input.job.userId, outcome: input.outcome } as const;
          coordinator.actor.send(report);
          coordinator.actor.send(report);
        }),
      },
      actions: {
        closeJobChannel: (_, { userId }) => channels.get(userId)!.close(),
      },
    });
    const actors = knownUsers.map((userId) =>
      createActor(machine, {
        input: { userId, passivateAfterMs: 5_000, jobTimeoutMs: 60_000 },
        clock,
      }).start(),
    );
    const errors: unknown[] = [];
    for (const actor of actors) actor.subscribe({ error: (error) => errors.push(error) });

    actors.forEach((actor, i) => {
      const job = {
        jobId: `job-${i}`,
        batchId: "batch-754",
        userId: knownUsers[i]!,
        mode: "missing" as const,
      };
      actor.send({ type: "JOB_RECEIVED", job });
      actor.send({ type: "JOB_RECEIVED", job }); // redelivered job: single flight, not run twice
    });
    for (let i = 0; i < 5; i++) await flush();
    expect(actors.every((actor) => actor.getSnapshot().value === "idle")).toBe(true);

    clock.increment(5_000); // every actor passivates in this one tick
    expect(errors).toEqual([]);
    expect(actors.every((actor) => actor.getSnapshot().status === "done")).toBe(true);
    expect([...channels.values()].every((channel) => channel.closes === 1)).toBe(true);
    expect(actors.every((actor) => actor.getSnapshot().context.jobsFinished === 1)).toBe(true);
    expect(coordinator.finalEvents).toEqual([
      { batchId: "batch-754", state: "failed", users: 560, ...expected },
    ]);
  });
});
