import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  addDays,
  compareDays,
  type DayPlanInput,
  InvalidDayError,
  planDays,
  startOfLocalDay,
} from "../src/index";
import { at, HOUR } from "./support";

// "Now" is 2025-01-10 12:00 UTC, so yesterday is 2025-01-09 in UTC.
const NOW = at("2025-01-10T12:00:00Z");

function plan(overrides: Partial<DayPlanInput>) {
  return planDays({
    mode: "missing",
    timeZone: "UTC",
    nowMs: NOW,
    latestSummaryFrom: null,
    firstHeartbeatTime: at("2025-01-03T09:30:00Z"),
    ...overrides,
  });
}

describe("planDays", () => {
  it("skips users without heartbeats, whatever the mode and range", () => {
    expect(plan({ firstHeartbeatTime: null })).toEqual({ kind: "no-heartbeats" });
    expect(plan({ firstHeartbeatTime: null, mode: "regenerate", from: "2025-01-01" })).toEqual({
      kind: "no-heartbeats",
    });
    expect(plan({ firstHeartbeatTime: null, latestSummaryFrom: at("2025-01-05T00:00:00Z") })).toEqual({
      kind: "no-heartbeats",
    });
  });

  describe("missing", () => {
    it("starts at the first heartbeat's day when there is no summary and ends yesterday", () => {
      expect(plan({})).toEqual({ kind: "days", range: { from: "2025-01-03", to: "2025-01-09" }, days: 7 });
    });

    it("starts the day after the latest summary", () => {
      expect(plan({ latestSummaryFrom: at("2025-01-05T00:00:00Z") })).toEqual({
        kind: "days",
        range: { from: "2025-01-06", to: "2025-01-09" },
        days: 4,
      });
    });

    it("is up to date when yesterday is already summarised", () => {
      expect(plan({ latestSummaryFrom: at("2025-01-09T00:00:00Z") })).toEqual({ kind: "up-to-date" });
      // a first heartbeat today only: nothing complete yet
      expect(plan({ firstHeartbeatTime: at("2025-01-10T08:00:00Z") })).toEqual({ kind: "up-to-date" });
    });

    it("raises the start to `from` but never lowers it", () => {
      expect(plan({ from: "2025-01-05" })).toMatchObject({ range: { from: "2025-01-05", to: "2025-01-09" } });
      expect(plan({ from: "2024-12-01" })).toMatchObject({ range: { from: "2025-01-03", to: "2025-01-09" } });
      expect(plan({ from: "2024-12-01", latestSummaryFrom: at("2025-01-07T00:00:00Z") })).toMatchObject({
        range: { from: "2025-01-08" },
      });
    });

    it("bounds the run by `to` and clamps a future `to` to yesterday", () => {
      expect(plan({ to: "2025-01-05" })).toEqual({
        kind: "days",
        range: { from: "2025-01-03", to: "2025-01-05" },
        days: 3,
      });
      expect(plan({ to: "2025-01-10" })).toMatchObject({ range: { to: "2025-01-09" } });
      expect(plan({ to: "2030-12-31" })).toMatchObject({ range: { to: "2025-01-09" } });
      expect(plan({ to: "2025-01-02" })).toEqual({ kind: "up-to-date" });
      expect(plan({ from: "2025-01-08", to: "2025-01-06" })).toEqual({ kind: "up-to-date" });
    });
  });

  describe("regenerate", () => {
    it("covers every day from the first heartbeat to yesterday by default, ignoring existing summaries", () => {
      expect(plan({ mode: "regenerate", latestSummaryFrom: at("2025-01-09T00:00:00Z") })).toEqual({
        kind: "days",
        range: { from: "2025-01-03", to: "2025-01-09" },
        days: 7,
      });
    });

    it("uses the requested range, even before the first heartbeat, clamped to yesterday", () => {
      expect(plan({ mode: "regenerate", from: "2024-12-30", to: "2025-01-04" })).toEqual({
        kind: "days",
        range: { from: "2024-12-30", to: "2025-01-04" },
        days: 6,
      });
      expect(plan({ mode: "regenerate", from: "2025-01-08", to: "2026-01-01" })).toMatchObject({
        range: { from: "2025-01-08", to: "2025-01-09" },
        days: 2,
      });
      expect(plan({ mode: "regenerate", from: "2025-01-10" })).toEqual({ kind: "up-to-date" });
      expect(plan({ mode: "regenerate", from: "2025-01-10", to: "2025-01-10" })).toEqual({
        kind: "up-to-date",
      });
    });
  });

  describe("time zones", () => {
    it("takes yesterday in the user's zone", () => {
      // 2025-01-10 12:00 UTC is already 2025-01-11 01:00 in Auckland and still 2025-01-10 in Honolulu
      expect(plan({ timeZone: "Pacific/Auckland" })).toMatchObject({ range: { to: "2025-01-10" } });
      expect(plan({ timeZone: "Pacific/Honolulu" })).toMatchObject({ range: { to: "2025-01-09" } });
      expect(plan({ timeZone: "Pacific/Auckland", nowMs: at("2025-01-10T10:59:59Z") })).toMatchObject({
        range: { to: "2025-01-09" },
      });
    });

    it("reads the first heartbeat's and the latest summary's days in the user's zone", () => {
      // 2025-01-03 02:00 UTC is still 2025-01-02 in New York
      expect(
        plan({ timeZone: "America/New_York", firstHeartbeatTime: at("2025-01-03T02:00:00Z") }),
      ).toMatchObject({
        range: { from: "2025-01-02" },
      });
      const latest = startOfLocalDay("2025-01-06", "Asia/Kathmandu");
      expect(plan({ timeZone: "Asia/Kathmandu", latestSummaryFrom: latest })).toMatchObject({
        range: { from: "2025-01-07" },
      });
      // a summary whose day started at 01:00 because midnight did not exist
      const saoPaulo = startOfLocalDay("2018-11-04", "America/Sao_Paulo");
      expect(
        plan({
          timeZone: "America/Sao_Paulo",
          latestSummaryFrom: saoPaulo,
          firstHeartbeatTime: saoPaulo,
          nowMs: saoPaulo + 72 * HOUR,
        }),
      ).toEqual({ kind: "days", range: { from: "2018-11-05", to: "2018-11-06" }, days: 2 });
    });
  });

  it("refuses malformed days", () => {
    expect(() => plan({ from: "2025-02-30" })).toThrow(InvalidDayError);
    expect(() => plan({ to: "yesterday" })).toThrow(InvalidDayError);
  });

  it("never plans today or later, and counts its days right (random inputs)", () => {
    const day = fc.integer({ min: -400, max: 400 }).map((n) => addDays("2025-01-10", n));
    const instant = fc.integer({ min: -400 * 24, max: 10 * 24 }).map((h) => NOW + h * HOUR);
    fc.assert(
      fc.property(
        fc.record({
          mode: fc.constantFrom("missing" as const, "regenerate" as const),
          from: fc.option(day, { nil: undefined }),
          to: fc.option(day, { nil: undefined }),
          timeZone: fc.constantFrom("UTC", "America/New_York", "Pacific/Chatham", "Pacific/Pago_Pago"),
          latestSummaryFrom: fc.option(instant, { nil: null }),
          firstHeartbeatTime: fc.option(instant, { nil: null }),
        }),
        (input) => {
          const result = planDays({ ...input, nowMs: NOW });
          if (input.firstHeartbeatTime === null) {
            expect(result.kind).toBe("no-heartbeats");
            return;
          }
          if (result.kind !== "days") {
            expect(result.kind).toBe("up-to-date");
            return;
          }
          const { from, to } = result.range;
          expect(compareDays(from, to)).toBeLessThanOrEqual(0);
          expect(compareDays(addDays(from, result.days - 1), to)).toBe(0);
          expect(startOfLocalDay(addDays(to, 1), input.timeZone)).toBeLessThanOrEqual(NOW);
          if (input.from !== undefined) expect(compareDays(from, input.from)).toBeGreaterThanOrEqual(0);
          if (input.to !== undefined) expect(compareDays(to, input.to)).toBeLessThanOrEqual(0);
          if (input.mode === "regenerate" && input.from !== undefined) expect(from).toBe(input.from);
        },
      ),
      { numRuns: 500 },
    );
  });
});
