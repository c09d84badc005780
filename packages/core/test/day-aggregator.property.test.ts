/**
 * Property tests of the streaming reducer against a deliberately naive
 * reference written from SEMANTICS.md alone: sort everything, group by the
 * local date of each heartbeat (read with its own Intl formatter), credit,
 * sum, floor. It shares no code with the implementation except the types.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  compareHeartbeats,
  createDayAggregator,
  type DayClosedDetail,
  type DayRange,
  type DaySummary,
  type Heartbeat,
  type LanguageMapping,
  OutOfOrderHeartbeatError,
  type SummaryItem,
  summarizeDays,
  type UserSettings,
} from "../src/index";
import { naiveLocalDay, scenarioArb, ZONES } from "./scenarios";
import { at, HOUR, MINUTE, SECOND } from "./support";

// ---------------------------------------------------------------------------
// The naive reference.

function naiveDaysOf(range: DayRange): string[] {
  const days: string[] = [];
  for (let t = Date.parse(`${range.from}T12:00:00Z`); ; t += 24 * HOUR) {
    const day = new Date(t).toISOString().slice(0, 10);
    days.push(day);
    if (day === range.to) return days;
  }
}

function naiveLanguage(entity: string | null, language: string | null, mappings: readonly LanguageMapping[]) {
  if (entity === null) return language;
  const parts = entity.split(/[/\\]/).pop()!.split(".");
  if (parts.length < 2) return language;
  const extension = parts.slice(Math.max(parts.length - 2, 1)).join(".");
  let result = language;
  let bestDots = -1;
  for (const m of mappings) {
    const dots = m.extension.split(".").length - 1;
    if (m.extension !== "" && `.${extension}`.endsWith(`.${m.extension}`) && dots >= bestDots) {
      result = m.language;
      bestDots = dots;
    }
  }
  return result;
}

interface NaiveDay {
  day: string;
  numHeartbeats: number;
  items: SummaryItem[];
  creditedMs: number;
}

function naiveSummarize(s: UserSettings, range: DayRange, input: readonly Heartbeat[]): NaiveDay[] {
  const sorted = [...input].sort((a, b) => a.time - b.time || a.id - b.id);
  return naiveDaysOf(range).map((day) => {
    const ofDay = sorted.filter((h) => naiveLocalDay(h.time, s.timeZone) === day);
    const totals = new Map<number, Map<string, number>>();
    let creditedMs = 0;
    let numHeartbeats = 0;
    ofDay.forEach((h, i) => {
      const next = ofDay[i + 1];
      const gap = next ? next.time - h.time : 0;
      const credit = next && gap < s.timeoutMs ? gap : 0;
      if (s.excludeUnknownProjects && (h.project === null || h.project === "")) return;
      numHeartbeats++;
      creditedMs += credit;
      const keys: [number, string | null][] = [
        [0, h.project],
        [1, naiveLanguage(h.entity, h.language, s.languageMappings)],
        [2, h.editor],
        [3, h.operatingSystem],
        [4, h.machine],
        [8, h.category],
      ];
      for (const [type, raw] of keys) {
        const key = raw === null || raw === "" ? "unknown" : raw;
        const byKey = totals.get(type) ?? new Map<string, number>();
        totals.set(type, byKey);
        byKey.set(key, (byKey.get(key) ?? 0) + credit);
      }
    });
    const items: SummaryItem[] = [];
    for (const type of [0, 1, 2, 3, 4, 8] as const) {
      const byKey = totals.get(type);
      if (!byKey) continue;
      for (const key of [...byKey.keys()].sort()) {
        items.push({ type, key, total: Math.floor(byKey.get(key)! / 1000) });
      }
    }
    return { day, numHeartbeats, items, creditedMs };
  });
}

/** Summarises with the per-day unrounded totals captured. */
function run(settings: UserSettings, range: DayRange, heartbeats: readonly Heartbeat[]) {
  const details: {
    day: string;
    creditedMs: number;
    totalsMs: Map<number, Map<string, number>>;
    length: number;
  }[] = [];
  const days = summarizeDays(settings, range, heartbeats, {
    onDayClosed: (d: DayClosedDetail) =>
      details.push({
        day: d.day,
        creditedMs: d.creditedMs,
        length: d.toTime - d.fromTime,
        totalsMs: new Map([...d.totalsMs].map(([type, byKey]) => [type, new Map(byKey)])),
      }),
  });
  return { days, details };
}

const comparable = (days: readonly DaySummary[]) =>
  days.map((d) => ({ day: d.day, numHeartbeats: d.numHeartbeats, items: d.items }));

// ---------------------------------------------------------------------------

describe("the day aggregator, on random streams over DST and odd-offset zones", () => {
  it("agrees with the naive reference", () => {
    fc.assert(
      fc.property(scenarioArb, ({ settings, heartbeats, range }) => {
        const { days, details } = run(settings, range, heartbeats);
        const expected = naiveSummarize(settings, range, heartbeats);
        expect(comparable(days)).toEqual(expected.map(({ creditedMs: _, ...day }) => day));
        expect(details.map((d) => d.creditedMs)).toEqual(expected.map((d) => d.creditedMs));
      }),
      { numRuns: 400 },
    );
  });

  it("emits contiguous days whose bounds are the zone's first instants of each day", () => {
    fc.assert(
      fc.property(scenarioArb, ({ settings, range, heartbeats }) => {
        const { days } = run(settings, range, heartbeats);
        expect(days.map((d) => d.day)).toEqual(naiveDaysOf(range));
        days.forEach((d, i) => {
          expect(d.userId).toBe("prop");
          expect(naiveLocalDay(d.fromTime, settings.timeZone)).toBe(d.day);
          expect(naiveLocalDay(d.fromTime - 1, settings.timeZone) < d.day).toBe(true);
          if (i > 0) expect(d.fromTime).toBe(days[i - 1]!.toTime);
          expect(d.toTime - d.fromTime).toBeGreaterThanOrEqual(22 * HOUR);
          expect(d.toTime - d.fromTime).toBeLessThanOrEqual(26 * HOUR);
        });
      }),
      { numRuns: 200 },
    );
  });

  it("sums each of the six types to the day's credited total, which never exceeds the day's length", () => {
    fc.assert(
      fc.property(scenarioArb, ({ settings, range, heartbeats }) => {
        const { days, details } = run(settings, range, heartbeats);
        expect(details).toHaveLength(days.length);
        details.forEach((detail, i) => {
          expect([...detail.totalsMs.keys()]).toEqual([0, 1, 2, 3, 4, 8]);
          for (const byKey of detail.totalsMs.values()) {
            let sum = 0;
            for (const ms of byKey.values()) sum += ms;
            expect(sum).toBe(detail.creditedMs);
          }
          expect(detail.creditedMs).toBeLessThanOrEqual(detail.length);
          for (const type of [0, 1, 2, 3, 4, 8]) {
            const seconds = days[i]!.items.filter((it) => it.type === type).reduce(
              (a, it) => a + it.total,
              0,
            );
            expect(seconds).toBeLessThanOrEqual(Math.floor(detail.creditedMs / 1000));
            expect(seconds * 1000).toBeLessThanOrEqual(detail.length);
          }
          if (days[i]!.numHeartbeats === 0) expect(days[i]!.items).toEqual([]);
        });
      }),
      { numRuns: 200 },
    );
  });

  it("gives the same days whether fed by push one by one or through summarizeDays", () => {
    fc.assert(
      fc.property(scenarioArb, ({ settings, range, heartbeats }) => {
        const expected = summarizeDays(settings, range, heartbeats);
        const aggregator = createDayAggregator(settings, range);
        const streamed: DaySummary[] = [];
        for (const h of heartbeats) streamed.push(...aggregator.push(h));
        streamed.push(...aggregator.finish());
        expect(streamed).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });

  it("gives the same days when the range is cut into pieces summarised separately", () => {
    fc.assert(
      fc.property(scenarioArb, fc.integer({ min: 0, max: 4 }), ({ settings, range, heartbeats }, cut) => {
        const all = naiveDaysOf(range);
        fc.pre(cut < all.length - 1);
        const whole = summarizeDays(settings, range, heartbeats);
        const first = summarizeDays(settings, { from: range.from, to: all[cut]! }, heartbeats);
        const second = summarizeDays(settings, { from: all[cut + 1]!, to: range.to }, heartbeats);
        expect([...first, ...second]).toEqual(whole);
      }),
      { numRuns: 200 },
    );
  });

  it("gives the same days when the stream arrives in chunks (a generator pulling chunk by chunk)", () => {
    fc.assert(
      fc.property(
        scenarioArb,
        fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 20 }),
        ({ settings, range, heartbeats }, sizes) => {
          function* chunked(): Generator<Heartbeat> {
            let i = 0;
            let k = 0;
            while (i < heartbeats.length) {
              const chunk = heartbeats.slice(i, i + sizes[k++ % sizes.length]!);
              i += chunk.length;
              yield* chunk;
            }
          }
          expect(summarizeDays(settings, range, chunked())).toEqual(
            summarizeDays(settings, range, heartbeats),
          );
        },
      ),
      { numRuns: 100 },
    );
  });

  it("never adds time for a duplicate (same time, later id), whatever its attributes", () => {
    fc.assert(
      fc.property(
        scenarioArb,
        fc.nat(),
        fc.boolean(),
        ({ settings, range, heartbeats }, pick, sameAttributes) => {
          fc.pre(heartbeats.length > 0);
          const original = heartbeats[pick % heartbeats.length]!;
          // Ids are integers, so id + 0.5 sorts the copy right after the original.
          // The project stays: a copy that turned a dropped heartbeat into a kept one would rightly add time.
          const copy: Heartbeat = sameAttributes
            ? { ...original, id: original.id + 0.5 }
            : { ...original, id: original.id + 0.5, language: "copy", editor: "copy" };
          const withCopy = [...heartbeats, copy].sort(compareHeartbeats);
          const before = run(settings, range, heartbeats);
          const after = run(settings, range, withCopy);
          expect(after.details.map((d) => d.creditedMs)).toEqual(before.details.map((d) => d.creditedMs));
          if (sameAttributes) {
            expect(after.days.map((d) => d.items)).toEqual(before.days.map((d) => d.items));
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("orders ties by id: swapping the ids of two same-time heartbeats swaps which one earns the gap", () => {
    fc.assert(
      fc.property(fc.constantFrom(...ZONES), fc.integer({ min: 1, max: 599 }), (timeZone, gapSec) => {
        const settings: UserSettings = {
          userId: "prop",
          timeZone,
          timeoutMs: 600 * SECOND,
          excludeUnknownProjects: false,
          languageMappings: [],
        };
        const t = at("2025-06-15T12:00:00Z");
        const base = {
          entity: null,
          language: null,
          editor: null,
          operatingSystem: null,
          machine: null,
          category: null,
        };
        const range = { from: naiveLocalDay(t, timeZone), to: naiveLocalDay(t, timeZone) };
        const stream = (firstProject: string, secondProject: string) => [
          { ...base, id: 1, time: t, project: firstProject },
          { ...base, id: 2, time: t, project: secondProject },
          { ...base, id: 3, time: t + gapSec * SECOND, project: "end" },
        ];
        const projects = (days: DaySummary[]) => days[0]!.items.filter((i) => i.type === 0);
        expect(projects(summarizeDays(settings, range, stream("a", "b")))).toEqual([
          { type: 0, key: "a", total: 0 },
          { type: 0, key: "b", total: gapSec },
          { type: 0, key: "end", total: 0 },
        ]);
        expect(projects(summarizeDays(settings, range, stream("b", "a")))).toEqual([
          { type: 0, key: "a", total: gapSec },
          { type: 0, key: "b", total: 0 },
          { type: 0, key: "end", total: 0 },
        ]);
      }),
      { numRuns: 50 },
    );
  });

  it("refuses any stream that is not ordered by (time, id)", () => {
    fc.assert(
      fc.property(scenarioArb, fc.nat(), fc.nat(), ({ settings, range, heartbeats }, i, j) => {
        fc.pre(heartbeats.length > 1);
        const a = i % heartbeats.length;
        const b = j % heartbeats.length;
        fc.pre(compareHeartbeats(heartbeats[a]!, heartbeats[b]!) < 0);
        const swapped = [...heartbeats];
        [swapped[a], swapped[b]] = [swapped[b]!, swapped[a]!];
        expect(() => summarizeDays(settings, range, swapped)).toThrow(OutOfOrderHeartbeatError);
      }),
      { numRuns: 200 },
    );
  });

  it("holds no more than one day of keys (memory does not grow with history)", () => {
    const settings: UserSettings = {
      userId: "big",
      timeZone: "Europe/Berlin",
      timeoutMs: 600 * SECOND,
      excludeUnknownProjects: false,
      languageMappings: [],
    };
    let maxKeys = 0;
    const aggregator = createDayAggregator(
      settings,
      { from: "2024-01-01", to: "2024-12-31" },
      {
        onDayClosed: (d) => {
          maxKeys = Math.max(maxKeys, d.totalsMs.get(0)!.size);
        },
      },
    );
    let emitted = 0;
    const start = at("2024-01-01T08:00:00Z");
    for (let i = 0; i < 366 * 200; i++) {
      const day = Math.floor(i / 200);
      emitted += aggregator.push({
        id: i,
        time: start + day * 24 * HOUR + (i % 200) * MINUTE,
        entity: "x.ts",
        project: `p${day}-${i % 3}`, // a fresh project every day: the history has 1098 keys
        language: "TypeScript",
        editor: "vscode",
        operatingSystem: "Linux",
        machine: "m",
        category: "coding",
      }).length;
    }
    emitted += aggregator.finish().length;
    expect(emitted).toBe(366);
    expect(maxKeys).toBe(3);
  });
});
