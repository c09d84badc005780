/**
 * The durations path must give exactly the reducer's summaries. The durations
 * here are computed the way the database computes them (bucket each heartbeat
 * into a day by the day starts, credit the gap to the next heartbeat of the
 * same day, group by day and attributes), by plain code written for the test.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type DayDuration,
  type DayInterval,
  dayIntervals,
  type Heartbeat,
  summarizeDays,
  summarizeDurations,
  type UserSettings,
} from "../src/index";
import { naiveLocalDay, scenarioArb } from "./scenarios";
import { settings as baseSettings, HOUR, SECOND } from "./support";

/** What the store's durations query returns, computed in memory (heartbeats in `(time, id)` order). */
function durationsOf(
  settings: UserSettings,
  days: readonly DayInterval[],
  heartbeats: readonly Heartbeat[],
): DayDuration[] {
  const withEntity = settings.languageMappings.length > 0;
  const inDay = (h: Heartbeat) => days.findIndex((d) => d.fromTime <= h.time && h.time < d.toTime);
  const groups = new Map<string, DayDuration & { creditedMs: number; heartbeats: number }>();
  heartbeats.forEach((h, i) => {
    const dayIndex = inDay(h);
    if (dayIndex < 0) return;
    const next = heartbeats[i + 1];
    const gap = next && inDay(next) === dayIndex ? next.time - h.time : settings.timeoutMs;
    const row = {
      dayIndex,
      project: h.project,
      language: h.language,
      editor: h.editor,
      operatingSystem: h.operatingSystem,
      machine: h.machine,
      category: h.category,
      entity: withEntity ? h.entity : null,
    };
    const key = JSON.stringify(row);
    const group = groups.get(key) ?? { ...row, creditedMs: 0, heartbeats: 0 };
    group.creditedMs += gap < settings.timeoutMs ? gap : 0;
    group.heartbeats += 1;
    groups.set(key, group);
  });
  return [...groups.values()].reverse(); // any order must do
}

describe("summaries from durations", () => {
  it("equal the streaming reducer's on random streams over DST and odd-offset zones", () => {
    fc.assert(
      fc.property(scenarioArb, ({ settings, heartbeats, range }) => {
        const days = dayIntervals(range, settings.timeZone);
        const fromDurations = summarizeDurations(settings, days, durationsOf(settings, days, heartbeats));
        expect(fromDurations).toEqual(summarizeDays(settings, range, heartbeats));
      }),
      { numRuns: 400 },
    );
  });

  it("lists each day of the range with its zone's bounds, contiguous", () => {
    fc.assert(
      fc.property(scenarioArb, ({ settings, range }) => {
        const days = dayIntervals(range, settings.timeZone);
        expect(days[0]!.day).toBe(range.from);
        expect(days[days.length - 1]!.day).toBe(range.to);
        days.forEach((d, i) => {
          expect(naiveLocalDay(d.fromTime, settings.timeZone)).toBe(d.day);
          expect(naiveLocalDay(d.fromTime - 1, settings.timeZone) < d.day).toBe(true);
          if (i > 0) expect(d.fromTime).toBe(days[i - 1]!.toTime);
        });
      }),
      { numRuns: 200 },
    );
  });

  it("keeps a day that does not exist in the zone in the list, with an empty interval, and never summarises it", () => {
    const apia = baseSettings({ timeZone: "Pacific/Apia" });
    const days = dayIntervals({ from: "2011-12-29", to: "2011-12-31" }, apia.timeZone);
    expect(days.map((d) => d.day)).toEqual(["2011-12-29", "2011-12-30", "2011-12-31"]);
    expect(days[1]!.toTime).toBe(days[1]!.fromTime);
    expect(summarizeDurations(apia, days, []).map((d) => d.day)).toEqual(["2011-12-29", "2011-12-31"]);
  });

  it("drops unknown projects after crediting, when the user excludes them", () => {
    const s = baseSettings({ excludeUnknownProjects: true });
    const days = dayIntervals({ from: "2025-01-01", to: "2025-01-01" }, "UTC");
    const row = (project: string | null, creditedMs: number, heartbeats: number): DayDuration => ({
      dayIndex: 0,
      project,
      language: "Go",
      editor: "vim",
      operatingSystem: "Linux",
      machine: "m",
      category: "coding",
      entity: null,
      creditedMs,
      heartbeats,
    });
    const [day] = summarizeDurations(s, days, [
      row("app", 90 * SECOND, 3),
      row(null, HOUR, 5),
      row("", 1, 1),
    ]);
    expect(day!.numHeartbeats).toBe(3);
    expect(day!.items.filter((i) => i.type === 0)).toEqual([{ type: 0, key: "app", total: 90 }]);
  });

  it("refuses a duration of a day it was not given", () => {
    const days = dayIntervals({ from: "2025-01-01", to: "2025-01-02" }, "UTC");
    const stray: DayDuration = {
      dayIndex: 2,
      project: null,
      language: null,
      editor: null,
      operatingSystem: null,
      machine: null,
      category: null,
      entity: null,
      creditedMs: 0,
      heartbeats: 1,
    };
    expect(() => summarizeDurations(baseSettings(), days, [stray])).toThrow(RangeError);
  });
});
