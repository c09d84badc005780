import { describe, expect, it } from "vitest";
import {
  AggregatorFinishedError,
  compareHeartbeats,
  createDayAggregator,
  type DayClosedDetail,
  type DaySummary,
  type Heartbeat,
  InvalidDayRangeError,
  OutOfOrderHeartbeatError,
  resolveUserSettings,
  SummaryItemType,
  startOfLocalDay,
  summarizeDays,
} from "../src/index";
import { at, HOUR, heartbeat, MINUTE, SECOND, settings, totalsOf } from "./support";

const { project, language, editor, operatingSystem, machine, category } = SummaryItemType;

/** Wakapi's services/duration_test.go fixture: 2020-10-01T00:00Z plus these offsets, in order. */
const T0 = at("2020-10-01T00:00:00Z");
function wakapiHeartbeats(): Heartbeat[] {
  const entity1 = "/home/bob/dev/wakapi.go";
  const entity2 = "/home/bob/dev/config.go";
  return [
    heartbeat(T0, { editor: "GoLand", entity: entity1 }),
    heartbeat(T0 + 30 * SECOND, { editor: "GoLand", entity: entity2 }),
    heartbeat(T0 + 30 * SECOND, { editor: "GoLand", entity: entity2 }), // duplicate
    heartbeat(T0 + 160 * SECOND, { editor: "GoLand", entity: entity2 }),
    heartbeat(T0 + 180 * SECOND, { editor: "vscode", entity: entity2 }),
    heartbeat(T0 + 190 * SECOND, { editor: "vscode", entity: entity2 }),
    heartbeat(T0 + 195 * SECOND, { editor: "vscode", entity: entity2 }),
  ];
}
const WAKAPI_DAY = { from: "2020-10-01", to: "2020-10-01" };

/** Runs `summarizeDays` and records the unrounded totals of each day. */
function summarizeWithDetail(
  userSettings = settings(),
  range = WAKAPI_DAY,
  heartbeats: Iterable<Heartbeat> = wakapiHeartbeats(),
): { days: DaySummary[]; creditedMs: number[] } {
  const creditedMs: number[] = [];
  const days = summarizeDays(userSettings, range, heartbeats, {
    onDayClosed: (detail: DayClosedDetail) => creditedMs.push(detail.creditedMs),
  });
  return { days, creditedMs };
}

describe("the worked example of SEMANTICS.md (Wakapi's duration tests)", () => {
  it("credits 30, 0, 0, 20, 10, 5, 0 with a 120 s timeout", () => {
    const { days, creditedMs } = summarizeWithDetail(settings({ timeoutMs: 120 * SECOND }));
    expect(days).toHaveLength(1);
    const [day] = days;
    expect(day!.numHeartbeats).toBe(7);
    expect(totalsOf(day, editor)).toEqual({ GoLand: 50, vscode: 15 });
    expect(totalsOf(day, project)).toEqual({ wakapi: 65 });
    expect(totalsOf(day, language)).toEqual({ Go: 65 });
    expect(totalsOf(day, operatingSystem)).toEqual({ Linux: 65 });
    expect(totalsOf(day, machine)).toEqual({ "muety-desktop": 65 });
    expect(totalsOf(day, category)).toEqual({ coding: 65 });
    expect(creditedMs).toEqual([65_000]);
    expect(day!.fromTime).toBe(T0);
    expect(day!.toTime).toBe(T0 + 24 * HOUR);
    expect(day!.day).toBe("2020-10-01");
    expect(day!.userId).toBe("muety");
  });

  // TestDurationService_Get_CustomTimeout: 60 s and 130 s give 30 + 20 + 15; 140 s bridges the 130 s gap.
  it.each([
    [60, { GoLand: 50, vscode: 15 }],
    [130, { GoLand: 50, vscode: 15 }], // strict: a gap equal to the timeout earns nothing
    [140, { GoLand: 180, vscode: 15 }],
  ])("with a %d s timeout, editors total %j", (timeoutSec, editors) => {
    const { days } = summarizeWithDetail(settings({ timeoutMs: timeoutSec * SECOND }));
    expect(totalsOf(days[0], editor)).toEqual(editors);
    expect(days[0]!.numHeartbeats).toBe(7);
  });

  it("gives a lone heartbeat 0 but still counts it (Get, test 2)", () => {
    const { days } = summarizeWithDetail(settings(), WAKAPI_DAY, wakapiHeartbeats().slice(0, 1));
    expect(days[0]!.numHeartbeats).toBe(1);
    expect(totalsOf(days[0], editor)).toEqual({ GoLand: 0 });
  });

  it("emits an empty day when the range has no heartbeats (Get, test 1)", () => {
    const { days } = summarizeWithDetail(settings(), { from: "2020-09-30", to: "2020-09-30" });
    expect(days).toEqual([
      {
        userId: "muety",
        day: "2020-09-30",
        fromTime: T0 - 24 * HOUR,
        toTime: T0,
        numHeartbeats: 0,
        items: [],
      },
    ]);
  });

  it("credits time to the earlier heartbeat's attributes whatever the next one's", () => {
    const { days } = summarizeWithDetail(settings(), WAKAPI_DAY, [
      heartbeat(T0, { editor: "GoLand", project: "a" }),
      heartbeat(T0 + MINUTE, { editor: "vscode", project: "b" }),
    ]);
    expect(totalsOf(days[0], editor)).toEqual({ GoLand: 60, vscode: 0 });
    expect(totalsOf(days[0], project)).toEqual({ a: 60, b: 0 });
  });
});

describe("crediting", () => {
  it("gives duplicates (same time) 0 for the earlier copy, ordering ties by id", () => {
    const a = heartbeat(T0, { id: 11, project: "first" });
    const b = heartbeat(T0, { id: 12, project: "second" });
    const c = heartbeat(T0 + 10 * SECOND, { id: 5, project: "third" });
    const { days } = summarizeWithDetail(settings(), WAKAPI_DAY, [a, b, c]);
    expect(totalsOf(days[0], project)).toEqual({ first: 0, second: 10, third: 0 });
    expect(days[0]!.numHeartbeats).toBe(3);
    // the same three rows with the ids swapped: now "second" comes first and earns nothing
    const swapped = [
      heartbeat(T0, { id: 11, project: "second" }),
      heartbeat(T0, { id: 12, project: "first" }),
      c,
    ];
    expect(totalsOf(summarizeWithDetail(settings(), WAKAPI_DAY, swapped).days[0], project)).toEqual({
      first: 10,
      second: 0,
      third: 0,
    });
  });

  it("floors each key separately, after summing in ms", () => {
    const hbs = [
      heartbeat(T0, { project: "a", language: "Go" }),
      heartbeat(T0 + 600, { project: "b", language: "Go" }),
      heartbeat(T0 + 1200, { project: "c", language: "Go" }),
      heartbeat(T0 + 1800, { project: "a", language: "Go" }),
      heartbeat(T0 + 2400, { project: "a", language: "Go" }),
    ];
    const { days, creditedMs } = summarizeWithDetail(settings(), WAKAPI_DAY, hbs);
    // a: 600 + 600 = 1200 ms -> 1 s; b, c: 600 ms each -> 0 s; Go: 2400 ms -> 2 s
    expect(totalsOf(days[0], project)).toEqual({ a: 1, b: 0, c: 0 });
    expect(totalsOf(days[0], language)).toEqual({ Go: 2 });
    expect(creditedMs).toEqual([2400]);
  });

  it("sums many sub-second credits before flooring", () => {
    const hbs = Array.from({ length: 11 }, (_, i) => heartbeat(T0 + i * 999));
    const { days } = summarizeWithDetail(settings(), WAKAPI_DAY, hbs);
    expect(totalsOf(days[0], project)).toEqual({ wakapi: 9 }); // 10 * 999 ms = 9.99 s
  });

  it("puts empty and NULL attributes under `unknown`, merged with a literal `unknown`", () => {
    const hbs = [
      heartbeat(T0, {
        project: null,
        language: "",
        editor: null,
        operatingSystem: "",
        machine: null,
        category: null,
      }),
      heartbeat(T0 + 10 * SECOND, { project: "", language: null, editor: "unknown" }),
      heartbeat(T0 + 30 * SECOND, { project: "p" }),
    ];
    const { days } = summarizeWithDetail(settings(), WAKAPI_DAY, hbs);
    expect(totalsOf(days[0], project)).toEqual({ unknown: 30, p: 0 });
    expect(totalsOf(days[0], language)).toEqual({ unknown: 30, Go: 0 });
    expect(totalsOf(days[0], editor)).toEqual({ unknown: 30, GoLand: 0 });
    expect(totalsOf(days[0], operatingSystem)).toEqual({ unknown: 10, Linux: 20 });
    expect(totalsOf(days[0], machine)).toEqual({ unknown: 10, "muety-desktop": 20 });
    expect(totalsOf(days[0], category)).toEqual({ unknown: 10, coding: 20 });
  });

  it("lists items by type (0, 1, 2, 3, 4, 8), then by key", () => {
    const hbs = [
      heartbeat(T0, { project: "zeta", language: "Go" }),
      heartbeat(T0 + SECOND, { project: "alpha", language: "Rust" }),
      heartbeat(T0 + 2 * SECOND, { project: "Beta", language: "C" }),
    ];
    const { days } = summarizeWithDetail(settings(), WAKAPI_DAY, hbs);
    expect(days[0]!.items.map((i) => [i.type, i.key])).toEqual([
      [0, "Beta"],
      [0, "alpha"],
      [0, "zeta"],
      [1, "C"],
      [1, "Go"],
      [1, "Rust"],
      [2, "GoLand"],
      [3, "Linux"],
      [4, "muety-desktop"],
      [8, "coding"],
    ]);
  });

  it("keeps zero-total items for keys that had heartbeats", () => {
    const hbs = [heartbeat(T0, { project: "a" }), heartbeat(T0 + HOUR, { project: "b" })];
    const { days } = summarizeWithDetail(settings(), WAKAPI_DAY, hbs);
    expect(days[0]!.numHeartbeats).toBe(2);
    expect(days[0]!.items).toHaveLength(7);
    expect(days[0]!.items.every((i) => i.total === 0)).toBe(true);
  });
});

describe("language mappings", () => {
  it("replace the language before crediting (wakapi#928 fixture)", () => {
    const userSettings = settings({
      languageMappings: [
        { extension: "ts", language: "Svelte" },
        { extension: "js", language: "PlainJS" },
        { extension: "test.js", language: "Jest" },
      ],
    });
    const hbs = [
      heartbeat(T0, { entity: "/home/bob/dev/app.ts", language: "TypeScript" }),
      heartbeat(T0 + 2 * MINUTE, { entity: "/home/bob/dev/app.tsx", language: "TypeScript" }),
      heartbeat(T0 + 4 * MINUTE, { entity: "/home/bob/dev/app.test.js", language: "JavaScript" }),
      heartbeat(T0 + 5 * MINUTE, { entity: "/home/bob/dev/app.test.js", language: "JavaScript" }),
    ];
    const { days } = summarizeWithDetail(userSettings, WAKAPI_DAY, hbs);
    expect(totalsOf(days[0], language)).toEqual({ Svelte: 120, TypeScript: 120, Jest: 60 });
  });

  it("maps `go` to Golang (TestDurationService_Get_WithLanguageMapping)", () => {
    const userSettings = settings({
      timeoutMs: 120 * SECOND,
      languageMappings: [{ extension: "go", language: "Golang" }],
    });
    const { days } = summarizeWithDetail(userSettings);
    expect(totalsOf(days[0], language)).toEqual({ Golang: 65 });
  });

  it("maps NULL languages and leaves entities without a matching extension alone", () => {
    const userSettings = settings({ languageMappings: [{ extension: "vue", language: "Vue" }] });
    const hbs = [
      heartbeat(T0, { entity: "src/App.vue", language: null }),
      heartbeat(T0 + 10 * SECOND, { entity: "Makefile", language: null }),
      heartbeat(T0 + 20 * SECOND, { entity: null, language: "Go" }),
      heartbeat(T0 + 30 * SECOND, { entity: "src/App.vue", language: "HTML" }),
    ];
    const { days } = summarizeWithDetail(userSettings, WAKAPI_DAY, hbs);
    expect(totalsOf(days[0], language)).toEqual({ Vue: 10, unknown: 10, Go: 10 });
  });
});

describe("exclude_unknown_projects", () => {
  const hbs = () => [
    heartbeat(T0, { project: "known" }),
    heartbeat(T0 + 10 * SECOND, { project: null }),
    heartbeat(T0 + 30 * SECOND, { project: "" }),
    heartbeat(T0 + 60 * SECOND, { project: "known" }),
    heartbeat(T0 + 100 * SECOND, { project: "known" }),
  ];

  it("drops unknown-project heartbeats after crediting: their gaps still separate, their credit is lost", () => {
    const { days, creditedMs } = summarizeWithDetail(
      settings({ excludeUnknownProjects: true }),
      WAKAPI_DAY,
      hbs(),
    );
    expect(days[0]!.numHeartbeats).toBe(3);
    // known earns 10 (to the NULL one) + 40 (to the last one); the dropped ones' 20 + 30 are lost
    expect(totalsOf(days[0], project)).toEqual({ known: 50 });
    expect(totalsOf(days[0], editor)).toEqual({ GoLand: 50 });
    expect(creditedMs).toEqual([50_000]);
  });

  it("keeps them under `unknown` when the flag is off", () => {
    const { days } = summarizeWithDetail(settings({ excludeUnknownProjects: false }), WAKAPI_DAY, hbs());
    expect(days[0]!.numHeartbeats).toBe(5);
    expect(totalsOf(days[0], project)).toEqual({ known: 50, unknown: 50 });
  });

  it("leaves a day with only dropped heartbeats with a summary row, 0 heartbeats and no items", () => {
    const { days } = summarizeWithDetail(settings({ excludeUnknownProjects: true }), WAKAPI_DAY, [
      heartbeat(T0, { project: null }),
      heartbeat(T0 + SECOND, { project: "" }),
    ]);
    expect(days).toHaveLength(1);
    expect(days[0]!.numHeartbeats).toBe(0);
    expect(days[0]!.items).toEqual([]);
  });
});

describe("days and ranges", () => {
  it("emits every day of the range once, in order, empty ones included", () => {
    const hbs = [
      heartbeat(at("2025-01-02T10:00:00Z")),
      heartbeat(at("2025-01-02T10:01:00Z")),
      heartbeat(at("2025-01-04T10:00:00Z")),
      heartbeat(at("2025-01-04T10:00:30Z")),
    ];
    const days = summarizeDays(settings(), { from: "2025-01-01", to: "2025-01-05" }, hbs);
    expect(days.map((d) => [d.day, d.numHeartbeats, totalsOf(d, project).wakapi])).toEqual([
      ["2025-01-01", 0, undefined],
      ["2025-01-02", 2, 60],
      ["2025-01-03", 0, undefined],
      ["2025-01-04", 2, 30],
      ["2025-01-05", 0, undefined],
    ]);
    for (let i = 1; i < days.length; i++) expect(days[i]!.fromTime).toBe(days[i - 1]!.toTime);
  });

  it("ignores heartbeats before the range and at/after its end, without crediting across the edges", () => {
    const from = at("2025-01-02T00:00:00Z");
    const end = at("2025-01-03T00:00:00Z");
    const hbs = [
      heartbeat(from - 10 * SECOND, { project: "before" }),
      heartbeat(from - 1, { project: "before" }),
      heartbeat(from, { project: "inside" }),
      heartbeat(end - 10 * SECOND, { project: "inside" }),
      heartbeat(end, { project: "after" }),
      heartbeat(end + 10 * SECOND, { project: "after" }),
    ];
    const days = summarizeDays(
      settings({ timeoutMs: 24 * HOUR }),
      { from: "2025-01-02", to: "2025-01-02" },
      hbs,
    );
    expect(days).toHaveLength(1);
    expect(days[0]!.numHeartbeats).toBe(2);
    expect(totalsOf(days[0], project)).toEqual({ inside: 86_390 });
  });

  it("never credits across local midnight, even a second apart", () => {
    const hbs = [heartbeat(at("2025-01-01T23:59:59Z")), heartbeat(at("2025-01-02T00:00:00Z"))];
    const days = summarizeDays(settings(), { from: "2025-01-01", to: "2025-01-02" }, hbs);
    expect(days.map((d) => [d.numHeartbeats, totalsOf(d, project)])).toEqual([
      [1, { wakapi: 0 }],
      [1, { wakapi: 0 }],
    ]);
  });

  it("returns finished days from push as soon as a later heartbeat proves them complete", () => {
    const aggregator = createDayAggregator(settings(), { from: "2025-01-01", to: "2025-01-03" });
    expect(aggregator.push(heartbeat(at("2025-01-01T08:00:00Z")))).toEqual([]);
    expect(aggregator.push(heartbeat(at("2025-01-01T08:00:10Z")))).toEqual([]);
    const finished = aggregator.push(heartbeat(at("2025-01-03T08:00:00Z")));
    expect(finished.map((d) => d.day)).toEqual(["2025-01-01", "2025-01-02"]);
    const rest = aggregator.finish();
    expect(rest.map((d) => d.day)).toEqual(["2025-01-03"]);
    expect(aggregator.finish()).toEqual([]);
  });

  it("flushes the whole range when a heartbeat past its end arrives", () => {
    const aggregator = createDayAggregator(settings(), { from: "2025-01-01", to: "2025-01-02" });
    aggregator.push(heartbeat(at("2025-01-01T08:00:00Z")));
    expect(aggregator.push(heartbeat(at("2025-02-01T08:00:00Z"))).map((d) => d.day)).toEqual([
      "2025-01-01",
      "2025-01-02",
    ]);
    expect(aggregator.push(heartbeat(at("2025-02-02T08:00:00Z")))).toEqual([]);
    expect(aggregator.finish()).toEqual([]);
  });

  it("refuses heartbeats that go backwards or repeat, with OUT_OF_ORDER", () => {
    const aggregator = createDayAggregator(settings(), WAKAPI_DAY);
    aggregator.push(heartbeat(T0 + MINUTE, { id: 10 }));
    aggregator.push(heartbeat(T0 + MINUTE, { id: 11 }));
    expect(() => aggregator.push(heartbeat(T0 + MINUTE, { id: 9 }))).toThrow(OutOfOrderHeartbeatError);
    expect(() => aggregator.push(heartbeat(T0 + MINUTE, { id: 11 }))).toThrow(OutOfOrderHeartbeatError);
    expect(() => aggregator.push(heartbeat(Number.NaN, { id: 12 }))).toThrow(OutOfOrderHeartbeatError);
    try {
      aggregator.push(heartbeat(T0, { id: 99 }));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(OutOfOrderHeartbeatError);
      expect(error).toBeInstanceOf(Error);
      expect((error as OutOfOrderHeartbeatError).code).toBe("OUT_OF_ORDER");
      expect((error as OutOfOrderHeartbeatError).name).toBe("OutOfOrderHeartbeatError");
      expect((error as OutOfOrderHeartbeatError).previous).toEqual({ time: T0 + MINUTE, id: 11 });
      expect((error as OutOfOrderHeartbeatError).received).toEqual({ time: T0, id: 99 });
    }
    // order is checked before the range filter: going backwards outside the range is refused too
    const other = createDayAggregator(settings(), WAKAPI_DAY);
    other.push(heartbeat(T0 - HOUR, { id: 2 }));
    expect(() => other.push(heartbeat(T0 - 2 * HOUR, { id: 3 }))).toThrow(OutOfOrderHeartbeatError);
  });

  it("refuses unordered input in summarizeDays", () => {
    const hbs = wakapiHeartbeats().reverse();
    expect(() => summarizeDays(settings(), WAKAPI_DAY, hbs)).toThrow(OutOfOrderHeartbeatError);
    expect(summarizeDays(settings(), WAKAPI_DAY, hbs.sort(compareHeartbeats))[0]!.numHeartbeats).toBe(7);
  });

  it("refuses pushes after finish and inverted ranges", () => {
    const aggregator = createDayAggregator(settings(), WAKAPI_DAY);
    aggregator.finish();
    expect(() => aggregator.push(heartbeat(T0))).toThrow(AggregatorFinishedError);
    expect(() => createDayAggregator(settings(), { from: "2025-01-02", to: "2025-01-01" })).toThrow(
      InvalidDayRangeError,
    );
  });

  it("returns frozen summaries and the same shared empty array for quiet pushes", () => {
    const aggregator = createDayAggregator(settings(), WAKAPI_DAY);
    const a = aggregator.push(heartbeat(T0));
    const b = aggregator.push(heartbeat(T0 + SECOND));
    expect(a).toBe(b);
    expect(Object.isFrozen(a)).toBe(true);
    const [day] = aggregator.finish();
    expect(Object.isFrozen(day)).toBe(true);
    expect(Object.isFrozen(day!.items)).toBe(true);
  });
});

describe("time zones", () => {
  const inZone = (timeZone: string, timeoutMs = 600 * SECOND) => settings({ timeZone, timeoutMs });

  it("cuts days at the user's local midnight", () => {
    const hbs = [
      heartbeat(at("2025-01-02T04:59:00Z")), // 23:59 on Jan 1 in New York
      heartbeat(at("2025-01-02T04:59:30Z")),
      heartbeat(at("2025-01-02T05:00:10Z")), // 00:00:10 on Jan 2
      heartbeat(at("2025-01-02T05:00:40Z")),
    ];
    const days = summarizeDays(inZone("America/New_York"), { from: "2025-01-01", to: "2025-01-02" }, hbs);
    expect(days.map((d) => [d.day, d.numHeartbeats, totalsOf(d, project).wakapi])).toEqual([
      ["2025-01-01", 2, 30],
      ["2025-01-02", 2, 30],
    ]);
    expect(days[0]!.fromTime).toBe(at("2025-01-01T05:00:00Z"));
    expect(days[1]!.fromTime).toBe(at("2025-01-02T05:00:00Z"));
  });

  it("credits real elapsed time across the New York spring-forward jump (23 h day)", () => {
    const hbs = [heartbeat(at("2025-03-09T06:59:00Z")), heartbeat(at("2025-03-09T07:01:00Z"))]; // 01:59 EST, 03:01 EDT
    const [day] = summarizeDays(inZone("America/New_York"), { from: "2025-03-09", to: "2025-03-09" }, hbs);
    expect(totalsOf(day, project)).toEqual({ wakapi: 120 });
    expect(day!.toTime - day!.fromTime).toBe(23 * HOUR);
  });

  it("credits real elapsed time across the New York fall-back hour (25 h day)", () => {
    const hbs = [heartbeat(at("2025-11-02T05:30:00Z")), heartbeat(at("2025-11-02T06:10:00Z"))]; // 01:30 EDT, 01:10 EST
    const [day] = summarizeDays(
      inZone("America/New_York", HOUR),
      { from: "2025-11-02", to: "2025-11-02" },
      hbs,
    );
    expect(totalsOf(day, project)).toEqual({ wakapi: 40 * 60 });
    expect(day!.toTime - day!.fromTime).toBe(25 * HOUR);
  });

  it("handles the Berlin DST days: 23 h in March, 25 h in October, and heartbeats at their edges", () => {
    const march = summarizeDays(inZone("Europe/Berlin"), { from: "2025-03-29", to: "2025-03-31" }, [
      heartbeat(at("2025-03-29T22:59:50Z")), // 23:59:50 CET on the 29th
      heartbeat(at("2025-03-29T23:00:00Z")), // 00:00 on the 30th
      heartbeat(at("2025-03-30T00:58:00Z")), // 01:58 CET
      heartbeat(at("2025-03-30T01:01:00Z")), // 03:01 CEST, 3 minutes later
      heartbeat(at("2025-03-30T21:59:59Z")), // 23:59:59 CEST
      heartbeat(at("2025-03-30T22:00:00Z")), // 00:00 on the 31st
    ]);
    expect(march.map((d) => [d.day, (d.toTime - d.fromTime) / HOUR, d.numHeartbeats])).toEqual([
      ["2025-03-29", 24, 1],
      ["2025-03-30", 23, 4],
      ["2025-03-31", 24, 1],
    ]);
    expect(totalsOf(march[1], project)).toEqual({ wakapi: 180 });

    const october = summarizeDays(
      inZone("Europe/Berlin", 2 * HOUR),
      { from: "2025-10-26", to: "2025-10-26" },
      [
        heartbeat(at("2025-10-26T00:30:00Z")), // 02:30 CEST
        heartbeat(at("2025-10-26T01:20:00Z")), // 02:20 CET, 50 minutes later
      ],
    );
    expect(october[0]!.toTime - october[0]!.fromTime).toBe(25 * HOUR);
    expect(totalsOf(october[0], project)).toEqual({ wakapi: 50 * 60 });
  });

  it.each([
    ["Asia/Kolkata", "2025-05-31T18:30:00Z"],
    ["Asia/Kathmandu", "2025-05-31T18:15:00Z"],
    ["Pacific/Chatham", "2025-05-31T11:15:00Z"],
    ["Australia/Lord_Howe", "2025-05-31T13:30:00Z"],
  ])("cuts %s days at their odd offsets (midnight is %s)", (zone, midnight) => {
    const m = at(midnight);
    const hbs = [
      heartbeat(m - 20 * SECOND),
      heartbeat(m - 10 * SECOND),
      heartbeat(m),
      heartbeat(m + 5 * SECOND),
    ];
    const days = summarizeDays(inZone(zone), { from: "2025-05-31", to: "2025-06-01" }, hbs);
    expect(days.map((d) => [d.day, d.numHeartbeats, totalsOf(d, project).wakapi])).toEqual([
      ["2025-05-31", 2, 10],
      ["2025-06-01", 2, 5],
    ]);
    expect(days[1]!.fromTime).toBe(m);
  });

  it("handles Lord Howe's 30-minute DST change (24.5 h and 23.5 h days)", () => {
    const days = summarizeDays(
      inZone("Australia/Lord_Howe", HOUR),
      { from: "2025-04-06", to: "2025-04-06" },
      [
        heartbeat(at("2025-04-05T14:55:00Z")), // 01:55 +11
        heartbeat(at("2025-04-05T15:05:00Z")), // 01:35 +10:30, 10 minutes later
      ],
    );
    expect(days[0]!.toTime - days[0]!.fromTime).toBe(24.5 * HOUR);
    expect(totalsOf(days[0], project)).toEqual({ wakapi: 600 });
    const october = summarizeDays(
      inZone("Australia/Lord_Howe"),
      { from: "2025-10-05", to: "2025-10-05" },
      [],
    );
    expect(october[0]!.toTime - october[0]!.fromTime).toBe(23.5 * HOUR);
  });

  it("starts Sao Paulo's 2018-11-04 at 01:00 local, since midnight did not exist", () => {
    const days = summarizeDays(inZone("America/Sao_Paulo"), { from: "2018-11-03", to: "2018-11-04" }, [
      heartbeat(at("2018-11-04T02:59:50Z")), // 23:59:50 -03 on the 3rd
      heartbeat(at("2018-11-04T03:00:00Z")), // 01:00:00 -02 on the 4th
      heartbeat(at("2018-11-04T03:00:30Z")),
    ]);
    expect(days.map((d) => [d.day, d.numHeartbeats, totalsOf(d, project).wakapi])).toEqual([
      ["2018-11-03", 1, 0],
      ["2018-11-04", 2, 30],
    ]);
    expect(days[1]!.fromTime).toBe(at("2018-11-04T03:00:00Z"));
    expect(days[1]!.toTime - days[1]!.fromTime).toBe(23 * HOUR);
    expect(days[0]!.toTime).toBe(days[1]!.fromTime);
  });

  it("treats an unknown zone as UTC", () => {
    const userSettings = resolveUserSettings({ userId: "u", location: "Mars/Olympus" });
    const days = summarizeDays(userSettings, { from: "2025-01-01", to: "2025-01-01" }, [
      heartbeat(at("2025-01-01T00:00:00Z")),
      heartbeat(at("2025-01-01T00:00:42Z")),
    ]);
    expect(days[0]!.fromTime).toBe(at("2025-01-01T00:00:00Z"));
    expect(totalsOf(days[0], project)).toEqual({ wakapi: 42 });
  });

  it("skips a day the zone never had (Samoa 2011-12-30) instead of emitting an empty interval", () => {
    const zone = "Pacific/Apia";
    const days = summarizeDays(inZone(zone), { from: "2011-12-29", to: "2011-12-31" }, [
      heartbeat(startOfLocalDay("2011-12-31", zone) - SECOND),
      heartbeat(startOfLocalDay("2011-12-31", zone)),
    ]);
    expect(days.map((d) => [d.day, d.numHeartbeats])).toEqual([
      ["2011-12-29", 1],
      ["2011-12-31", 1],
    ]);
    expect(days[0]!.toTime).toBe(days[1]!.fromTime);
  });
});
