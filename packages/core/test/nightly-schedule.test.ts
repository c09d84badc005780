import { describe, expect, it } from "vitest";
import { currentZoneRun, dueZoneRuns, nextZoneRuns } from "../src";

const OFFSET = 15 * 60_000;

describe("nightly schedule per zone", () => {
  it("a zone's run is due from local midnight plus the offset", () => {
    // 18:30Z is 00:00 in Kolkata (+05:30): 18:45Z is the run.
    expect(currentZoneRun("Asia/Kolkata", Date.parse("2025-03-09T18:50:00Z"), OFFSET)).toEqual({
      timeZone: "Asia/Kolkata",
      day: "2025-03-10",
      dueAt: Date.parse("2025-03-09T18:45:00Z"),
    });
  });

  it("lists only zones whose run is due and has not happened", () => {
    const now = Date.parse("2025-03-10T00:05:00Z");
    const zones = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"];
    const due = dueZoneRuns(zones, now, OFFSET, (zone) => zone === "Europe/Berlin");
    // UTC: 03-10 is due at 00:15Z (not yet). Berlin: due at 23:15Z (already run).
    // New York is still on 03-09 (due since 04:15Z that day). Kolkata: due since 18:45Z.
    expect(due.map((r) => [r.timeZone, r.day])).toEqual([
      ["America/New_York", "2025-03-09"],
      ["Asia/Kolkata", "2025-03-10"],
    ]);
  });

  it("uses the 23-hour day's real midnight on a DST start", () => {
    // Europe/Berlin 2025-03-30: midnight is still +01:00, so 23:00Z the day before.
    expect(currentZoneRun("Europe/Berlin", Date.parse("2025-03-30T10:00:00Z"), 0).dueAt).toBe(
      Date.parse("2025-03-29T23:00:00Z"),
    );
  });

  it("next runs are tomorrow's for zones that already passed today's, soonest first", () => {
    const now = Date.parse("2025-03-10T00:20:00Z");
    const next = nextZoneRuns(["UTC", "America/New_York"], now, OFFSET);
    expect(next).toEqual([
      { timeZone: "America/New_York", day: "2025-03-10", dueAt: Date.parse("2025-03-10T04:15:00Z") },
      { timeZone: "UTC", day: "2025-03-11", dueAt: Date.parse("2025-03-11T00:15:00Z") },
    ]);
  });
});
