import { describe, expect, it } from "vitest";
import { matchesState, progressOf, renderInspectTable } from "../src/inspect-table";

const now = new Date("2025-01-02T03:04:05Z");
const reply = {
  instances: [{ id: "web-1" }, { id: "web-2" }],
  actors: [
    {
      id: "user:alice",
      machine: "userAggregator",
      state: "processingJob.aggregating",
      instance: "web-2",
      userId: "alice",
      batchId: "b1",
      context: { daysDone: 3, daysTotal: 10 },
    },
    {
      id: "batch:b1",
      machine: "batchCoordinator",
      state: "running",
      instance: "web-1",
      batchId: "b1",
      context: { users: 40, done: 11, failed: 1, skipped: 1 },
    },
  ],
};

describe("the inspect table", () => {
  it("lists instances, then one row per actor with its progress", () => {
    expect(renderInspectTable(reply, { now, subject: "agg.inspect" })).toEqual([
      "agg.inspect  03:04:05  2 instances: web-1 (1 actor), web-2 (1 actor)",
      "INSTANCE  ACTOR       MACHINE           STATE                      USER   BATCH  PROGRESS",
      "web-1     batch:b1    batchCoordinator  running                    -      b1     users 13/40, 1 failed",
      "web-2     user:alice  userAggregator    processingJob.aggregating  alice  b1     days 3/10",
    ]);
  });

  it('says "no instances" (and why) rather than an empty table', () => {
    expect(renderInspectTable(undefined, { now, subject: "agg.inspect" }, "nobody answers")).toEqual([
      "agg.inspect  03:04:05  no instances (nobody answers)",
    ]);
  });

  it("fits a small terminal: rows counted, lines cut", () => {
    const lines = renderInspectTable(reply, { now, subject: "agg.inspect", width: 30, height: 4 });
    expect(lines).toHaveLength(4);
    expect(lines.every((l) => l.length <= 30)).toBe(true);
    expect(lines[3]).toMatch(/^\.\.\. and 1 more actors/);
  });

  it("matches a state by its whole value, a level or a parent", () => {
    const [alice] = reply.actors;
    expect(matchesState(alice!, "processingJob.aggregating")).toBe(true);
    expect(matchesState(alice!, "aggregating")).toBe(true);
    expect(matchesState(alice!, "processingJob")).toBe(true);
    expect(matchesState(alice!, "processing")).toBe(false);
    expect(progressOf({ ...alice!, context: { daysTotal: 0 } } as never)).toBe("");
  });
});
