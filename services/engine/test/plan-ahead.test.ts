/**
 * Planning a job before its actor starts, from what its batch's triage kept
 * (pure logic: the kept inputs are in memory, the planner is the actor's).
 */
import type { UserSettings } from "@agg/core";
import type { UserJob } from "@agg/machines";
import type { UserPlanInputs } from "@agg/store";
import { describe, expect, it } from "vitest";
import { TriagedPlanInputs } from "../src/triaged-plan-inputs";
import type { UserStore } from "../src/user-store";
import { planAhead, withPlannedDays } from "../src/user-work";

const DAY = 86_400_000;
const NOW = Date.UTC(2025, 5, 15, 12); // yesterday, in UTC, is 2025-06-14

const settings = (userId: string): UserSettings => ({
  userId,
  timeZone: "UTC",
  timeoutMs: 600_000,
  excludeUnknownProjects: false,
  languageMappings: [],
});

const nightly = (userId: string): UserJob => ({
  jobId: `b1:${userId}`,
  batchId: "b1",
  userId,
  mode: "missing",
});

/** `planAhead`'s dependencies: a clock, and a store whose only part used is the kept triage inputs. */
function depsKeeping(kept: Record<string, UserPlanInputs>) {
  const triaged = new TriagedPlanInputs({ maxEntries: 100, maxAgeMs: 30_000 });
  for (const [userId, inputs] of Object.entries(kept)) triaged.keep("b1", userId, inputs, Date.now());
  const store = {
    keptPlanInputs: (userId: string, batchId?: string) =>
      batchId === undefined ? undefined : triaged.take(batchId, userId, Date.now()),
  } as unknown as UserStore;
  return { store, now: () => NOW };
}

describe("planAhead", () => {
  it("plans a nightly job from the kept inputs, once: the days, their range and the settings", () => {
    const deps = depsKeeping({
      behind: {
        settings: settings("behind"),
        firstHeartbeatTime: Date.UTC(2025, 5, 1),
        latestSummaryFrom: Date.UTC(2025, 5, 12),
      },
    });
    const planned = planAhead(deps, nightly("behind"));
    expect(planned).toEqual({
      job: {
        ...nightly("behind"),
        plannedDays: { days: 2, range: { from: "2025-06-13", to: "2025-06-14" } },
      },
      settings: settings("behind"),
    });
    // Kept inputs are used once: a second job of the same user plans in its actor.
    expect(planAhead(deps, nightly("behind"))).toBeUndefined();
  });

  it("leaves the job to its actor when nothing is kept, or when the plan has no days to write", () => {
    const deps = depsKeeping({
      "up-to-date": {
        settings: settings("up-to-date"),
        firstHeartbeatTime: Date.UTC(2025, 5, 1),
        latestSummaryFrom: NOW - 1.5 * DAY, // 2025-06-14: yesterday is summarised
      },
      "no-heartbeats": {
        settings: settings("no-heartbeats"),
        firstHeartbeatTime: null,
        latestSummaryFrom: null,
      },
    });
    expect(planAhead(deps, nightly("unknown"))).toBeUndefined();
    expect(planAhead(deps, nightly("up-to-date"))).toBeUndefined();
    expect(planAhead(deps, nightly("no-heartbeats"))).toBeUndefined();
  });
});

describe("withPlannedDays", () => {
  it("keeps the job's fields and adds the plan, with the same keys in one order whether or not from/to are set", () => {
    const plannedDays = { days: 1, range: { from: "2025-06-14", to: "2025-06-14" } };
    const bounded: UserJob = { ...nightly("a"), mode: "regenerate", from: "2025-06-01", to: "2025-06-14" };
    const keys = ["jobId", "batchId", "userId", "mode", "from", "to", "plannedDays"];
    expect(Object.keys(withPlannedDays(bounded, plannedDays))).toEqual(keys);
    expect(Object.keys(withPlannedDays(nightly("a"), plannedDays))).toEqual(keys);
    expect(withPlannedDays(nightly("a"), plannedDays)).toEqual({ ...nightly("a"), plannedDays });
    expect(withPlannedDays(bounded, plannedDays)).toEqual({ ...bounded, plannedDays });
  });
});
