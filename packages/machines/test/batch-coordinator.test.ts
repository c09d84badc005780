import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { createActor, SimulatedClock } from "xstate";
import { batchCoordinatorMachine, batchStatusOf, NotProvidedError } from "../src/index";
import { createBatchCoordinatorHarness } from "./support/batch-coordinator-harness";

let warn: ReturnType<typeof vi.spyOn>;
beforeEach(() => {
  warn = vi.spyOn(console, "warn").mockImplementation(() => {});
});
afterEach(() => warn.mockRestore());

describe("batchCoordinatorMachine", () => {
  test("counts each user's first report, publishes progress, then one final event", () => {
    const h = createBatchCoordinatorHarness({ batchId: "b1", userIds: ["a", "b", "c"], deadlineMs: 1_000 });
    h.actor.start();
    expect(batchStatusOf(h.actor.getSnapshot())).toEqual({
      batchId: "b1",
      state: "running",
      users: 3,
      done: 0,
      failed: 0,
      skipped: 0,
    });
    h.actor.send({ type: "USER_REPORTED", userId: "a", outcome: "done" });
    h.actor.send({ type: "USER_REPORTED", userId: "a", outcome: "failed" }); // redelivery: ignored
    h.actor.send({ type: "USER_REPORTED", userId: "zed", outcome: "done" }); // not in the batch: ignored
    h.actor.send({ type: "USER_REPORTED", userId: "b", outcome: "skipped" });
    expect(h.progress).toEqual([
      { batchId: "b1", state: "running", users: 3, done: 1, failed: 0, skipped: 0 },
      { batchId: "b1", state: "running", users: 3, done: 1, failed: 0, skipped: 1 },
    ]);
    expect(h.finalEvents).toEqual([]);
    h.actor.send({ type: "USER_REPORTED", userId: "c", outcome: "done" });
    expect(h.actor.getSnapshot().value).toBe("completed");
    expect(h.finalEvents).toEqual([
      { batchId: "b1", state: "completed", users: 3, done: 2, failed: 0, skipped: 1 },
    ]);
  });

  test("counts a message of reports in one transition, each user's first report once", () => {
    const h = createBatchCoordinatorHarness({
      batchId: "b1",
      userIds: ["a", "b", "c", "d"],
      deadlineMs: 1_000,
    });
    h.actor.start();
    h.actor.send({ type: "USER_REPORTED", userId: "a", outcome: "done" });
    h.actor.send({
      type: "USERS_REPORTED",
      reports: [
        { userId: "a", outcome: "failed" }, // reported before: ignored
        { userId: "b", outcome: "skipped" },
        { userId: "b", outcome: "failed" }, // twice in one message: the first counts
        { userId: "zed", outcome: "done" }, // not in the batch: ignored
        { userId: "c", outcome: "exploded" as never }, // not an outcome: ignored
        { userId: "d", outcome: "failed" },
      ],
    });
    expect(h.progress).toEqual([
      { batchId: "b1", state: "running", users: 4, done: 1, failed: 0, skipped: 0 },
      { batchId: "b1", state: "running", users: 4, done: 1, failed: 1, skipped: 1 },
    ]);
    // A message of nothing new is no transition: no progress event.
    h.actor.send({ type: "USERS_REPORTED", reports: [{ userId: "zed", outcome: "done" }] });
    h.actor.send({ type: "USERS_REPORTED", reports: [] });
    expect(h.progress).toHaveLength(2);
    h.actor.send({ type: "USERS_REPORTED", reports: [{ userId: "c", outcome: "done" }] });
    expect(h.finalEvents).toEqual([
      { batchId: "b1", state: "failed", users: 4, done: 2, failed: 1, skipped: 1 },
    ]);
  });

  test("one failed user makes the batch fail, and the batch still ends", () => {
    const h = createBatchCoordinatorHarness({ batchId: "b1", userIds: ["a", "b"], deadlineMs: 1_000 });
    h.actor.start();
    h.actor.send({ type: "USER_REPORTED", userId: "a", outcome: "failed" });
    h.actor.send({ type: "USER_REPORTED", userId: "b", outcome: "done" });
    expect(h.finalEvents).toEqual([
      { batchId: "b1", state: "failed", users: 2, done: 1, failed: 1, skipped: 0 },
    ]);
  });

  test("the deadline (simulated time) counts every unreported user as failed", () => {
    const h = createBatchCoordinatorHarness({ batchId: "b1", userIds: ["a", "b", "c"], deadlineMs: 60_000 });
    h.actor.start();
    h.actor.send({ type: "USER_REPORTED", userId: "b", outcome: "done" });
    h.clock.increment(59_999);
    expect(h.actor.getSnapshot().value).toBe("collecting");
    h.clock.increment(1);
    expect(h.actor.getSnapshot().value).toBe("failed");
    expect(h.actor.getSnapshot().context.unreportedAtDeadline).toEqual(["a", "c"]);
    expect(h.finalEvents).toEqual([
      { batchId: "b1", state: "failed", users: 3, done: 1, failed: 2, skipped: 0 },
    ]);
    // A late report changes nothing.
    h.actor.send({ type: "USER_REPORTED", userId: "a", outcome: "done" });
    expect(h.finalEvents).toHaveLength(1);
    expect(batchStatusOf(h.actor.getSnapshot())).toMatchObject({ done: 1, failed: 2 });
  });

  test("already-reported users (unknown users, recovered outcomes) are counted at start", () => {
    const h = createBatchCoordinatorHarness({
      batchId: "b1",
      userIds: ["a", "b"],
      alreadyReported: [
        { userId: "ghost", outcome: "skipped" },
        { userId: "b", outcome: "done" },
        { userId: "b", outcome: "failed" }, // a duplicate: the first outcome stands
      ],
      deadlineMs: 1_000,
    });
    h.actor.start();
    expect(batchStatusOf(h.actor.getSnapshot())).toEqual({
      batchId: "b1",
      state: "running",
      users: 3,
      done: 1,
      failed: 0,
      skipped: 1,
    });
    h.actor.send({ type: "USER_REPORTED", userId: "b", outcome: "failed" });
    h.actor.send({ type: "USER_REPORTED", userId: "a", outcome: "done" });
    expect(h.finalEvents).toEqual([
      { batchId: "b1", state: "completed", users: 3, done: 2, failed: 0, skipped: 1 },
    ]);
  });

  test("a batch whose users were all reported at acceptance ends at once, publishing one final event", () => {
    const h = createBatchCoordinatorHarness({
      batchId: "b1",
      userIds: [],
      alreadyReported: [
        { userId: "ghost-1", outcome: "skipped" },
        { userId: "ghost-2", outcome: "skipped" },
      ],
      deadlineMs: 1_000,
    });
    h.actor.start();
    expect(h.actor.getSnapshot().status).toBe("done");
    expect(h.finalEvents).toEqual([
      { batchId: "b1", state: "completed", users: 2, done: 0, failed: 0, skipped: 2 },
    ]);
    expect(h.progress).toEqual([]);
    h.clock.increment(10_000);
    expect(h.finalEvents).toHaveLength(1);
  });

  test("an empty batch completes at once", () => {
    const h = createBatchCoordinatorHarness({ batchId: "b0", userIds: [], deadlineMs: 1_000 });
    h.actor.start();
    expect(h.finalEvents).toEqual([
      { batchId: "b0", state: "completed", users: 0, done: 0, failed: 0, skipped: 0 },
    ]);
  });

  test("CANCEL ends the batch as cancelled with the counts so far", () => {
    const h = createBatchCoordinatorHarness({ batchId: "b1", userIds: ["a", "b"], deadlineMs: 1_000 });
    h.actor.start();
    h.actor.send({ type: "USER_REPORTED", userId: "a", outcome: "done" });
    h.actor.send({ type: "CANCEL", reason: "shutdown" });
    h.actor.send({ type: "CANCEL" });
    h.clock.increment(5_000);
    expect(h.actor.getSnapshot().context.cancelReason).toBe("shutdown");
    expect(h.finalEvents).toEqual([
      { batchId: "b1", state: "cancelled", users: 2, done: 1, failed: 0, skipped: 0 },
    ]);
  });

  test("a report with an outcome that is not one of done/failed/skipped is not counted", () => {
    const h = createBatchCoordinatorHarness({ batchId: "b1", userIds: ["a"], deadlineMs: 1_000 });
    h.actor.start();
    h.actor.send({ type: "USER_REPORTED", userId: "a", outcome: "exploded" as never });
    expect(batchStatusOf(h.actor.getSnapshot())).toMatchObject({
      state: "running",
      done: 0,
      failed: 0,
      skipped: 0,
    });
  });

  test("unprovided publishers fail loudly", () => {
    const actor = createActor(batchCoordinatorMachine, {
      input: { batchId: "b1", userIds: [], deadlineMs: 1 },
      clock: new SimulatedClock(),
    });
    actor.subscribe({ error: () => {} });
    actor.start();
    expect(actor.getSnapshot().error).toEqual(new NotProvidedError("action", "publishFinalEvent"));
  });

  test("100 000 users: one report each, in linear time", () => {
    const userIds = Array.from({ length: 100_000 }, (_, i) => `user-${i}`);
    const h = createBatchCoordinatorHarness({ batchId: "big", userIds, deadlineMs: 1_000 });
    h.actor.start();
    const started = performance.now();
    for (const userId of userIds) h.actor.send({ type: "USER_REPORTED", userId, outcome: "done" });
    const elapsed = performance.now() - started;
    expect(h.finalEvents).toEqual([
      { batchId: "big", state: "completed", users: 100_000, done: 100_000, failed: 0, skipped: 0 },
    ]);
    // Copying the reported set per report would be ~5e9 steps here; linear is well under this bound.
    expect(elapsed).toBeLessThan(15_000);
  }, 60_000);
});
