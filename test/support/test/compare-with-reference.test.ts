import { describe, expect, it } from "vitest";
import { type RefHeartbeat, type RefUser, referenceSummaries } from "../src/reference";
import { compareWithReference, type StoredDay } from "../src/summaries";

// Los Angeles is UTC-8 in November: its midnight of 2026-11-28 is 08:00 UTC.
const user: RefUser = {
  id: "la",
  location: "America/Los_Angeles",
  timeoutSec: null,
  excludeUnknownProjects: null,
  mappings: [],
};
const at = (iso: string) => Date.parse(iso);
const heartbeats: RefHeartbeat[] = [
  "2026-11-25T18:00:00Z",
  "2026-11-25T18:01:00Z",
  "2026-11-27T20:00:00Z",
].map((time, i) => ({
  id: i + 1,
  userId: "la",
  time: at(time),
  entity: "a.ts",
  project: "p",
  language: null,
  editor: null,
  operatingSystem: null,
  machine: null,
  category: null,
}));
const beforeMidnight = at("2026-11-28T07:59:00Z");
const afterMidnight = at("2026-11-28T08:01:00Z");

/** The reference's days as stored, through `lastDay` (LA days 2026-11-25 and later). */
function storedThrough(lastDay: string): Map<string, StoredDay> {
  const ref = referenceSummaries(user, heartbeats);
  const stored = new Map<string, StoredDay>();
  for (const day of ["2026-11-25", "2026-11-26", "2026-11-27"]) {
    if (day > lastDay) break;
    const r = ref.get(day) ?? { numHeartbeats: 0, items: new Map<string, number>() };
    stored.set(`la|${day}`, { userId: "la", day, fromTime: 0, toTime: 0, ...r });
  }
  return stored;
}

describe("compareWithReference across a local midnight", () => {
  it("lets the day that ended after the request be missing", () => {
    const stored = storedThrough("2026-11-26");
    const window = { requestedAtMs: beforeMidnight, nowMs: afterMidnight };
    expect(compareWithReference([user], heartbeats, stored, window)).toEqual([]);
  });

  it("still wants every day that had ended when the request was sent", () => {
    const stored = storedThrough("2026-11-26");
    const window = { requestedAtMs: afterMidnight, nowMs: afterMidnight };
    expect(compareWithReference([user], heartbeats, stored, window)).toEqual([
      "la 2026-11-27: missing summary",
    ]);
  });

  it("checks that day exactly when it is there", () => {
    const stored = storedThrough("2026-11-27");
    stored.get("la|2026-11-27")!.numHeartbeats = 7;
    const window = { requestedAtMs: beforeMidnight, nowMs: afterMidnight };
    expect(compareWithReference([user], heartbeats, stored, window)).toEqual([
      "la 2026-11-27: num_heartbeats 7 != 1",
    ]);
    expect(compareWithReference([user], heartbeats, storedThrough("2026-11-27"), window)).toEqual([]);
  });
});
