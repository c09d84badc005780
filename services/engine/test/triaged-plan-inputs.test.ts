/** Triage's reads kept for the jobs: used once, only while young, never more than the bound. */
import type { UserPlanInputs } from "@agg/store";
import { describe, expect, it } from "vitest";
import { TriagedPlanInputs } from "../src/triaged-plan-inputs";

function inputs(latestSummaryFrom: number | null): UserPlanInputs {
  return {
    settings: {
      userId: "u",
      timeZone: "UTC",
      timeoutMs: 120_000,
      excludeUnknownProjects: false,
      languageMappings: [],
    },
    firstHeartbeatTime: 0,
    latestSummaryFrom,
  } as unknown as UserPlanInputs;
}

describe("TriagedPlanInputs", () => {
  it("gives a user's inputs to the first job of that batch only", () => {
    const kept = new TriagedPlanInputs({ maxEntries: 10, maxAgeMs: 1_000 });
    const a = inputs(1);
    kept.keep("b1", "alice", a, 0);
    expect(kept.take("b2", "alice", 10)).toBeUndefined();
    expect(kept.take("b1", "bob", 10)).toBeUndefined();
    expect(kept.take("b1", "alice", 10)).toBe(a);
    expect(kept.take("b1", "alice", 10)).toBeUndefined();
    expect(kept.size).toBe(0);
  });

  it("does not give inputs older than maxAgeMs (the job reads the database instead)", () => {
    const kept = new TriagedPlanInputs({ maxEntries: 10, maxAgeMs: 1_000 });
    kept.keep("b", "alice", inputs(1), 0);
    expect(kept.take("b", "alice", 1_001)).toBeUndefined();
    expect(kept.size).toBe(0);
  });

  it("holds at most maxEntries, dropping the oldest, and drops expired ones as new ones come", () => {
    const kept = new TriagedPlanInputs({ maxEntries: 3, maxAgeMs: 1_000 });
    for (const [i, user] of ["a", "b", "c", "d"].entries()) kept.keep("b", user, inputs(i), i);
    expect(kept.size).toBe(3);
    expect(kept.take("b", "a", 10)).toBeUndefined();
    expect(kept.take("b", "d", 10)?.latestSummaryFrom).toBe(3);
    kept.keep("b", "e", inputs(5), 1_003);
    // b and c (kept at 1 and 2) are now more than 1 000 ms old: gone.
    expect(kept.size).toBe(1);
    expect(kept.take("b", "e", 1_004)?.latestSummaryFrom).toBe(5);
  });

  it("keeps the newer inputs when a user is kept twice for one batch", () => {
    const kept = new TriagedPlanInputs({ maxEntries: 3, maxAgeMs: 1_000 });
    kept.keep("b", "alice", inputs(1), 0);
    kept.keep("b", "alice", inputs(2), 5);
    expect(kept.size).toBe(1);
    expect(kept.take("b", "alice", 6)?.latestSummaryFrom).toBe(2);
  });
});
