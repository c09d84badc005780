/**
 * Random single-user scenarios for the core's property tests: streams of
 * heartbeats over DST changes and odd-offset zones, with random settings and a
 * range of days, plus the naive local-day function the references use.
 */
import fc from "fast-check";
import { compareHeartbeats, type DayRange, type Heartbeat, type UserSettings } from "../src/index";
import { at, HOUR, SECOND } from "./support";

export const ZONES = [
  "UTC",
  "America/New_York",
  "Europe/Berlin",
  "Asia/Kolkata",
  "Asia/Kathmandu",
  "Pacific/Chatham",
  "Australia/Lord_Howe",
  "America/Sao_Paulo",
  "America/Havana",
];

/** Instants near DST changes of the zones above (and one quiet one), to start random streams from. */
export const ANCHORS = [
  "2025-03-09T07:00:00Z",
  "2025-11-02T06:00:00Z",
  "2025-03-30T01:00:00Z",
  "2025-10-26T01:00:00Z",
  "2025-04-05T15:00:00Z",
  "2025-10-04T15:30:00Z",
  "2025-09-27T14:00:00Z",
  "2018-11-04T03:00:00Z",
  "2019-02-17T02:00:00Z",
  "2025-06-15T12:00:00Z",
].map(at);

const dayFormatters = new Map<string, Intl.DateTimeFormat>();
/** The local day (YYYY-MM-DD) of an instant, read with its own Intl formatter. */
export function naiveLocalDay(epochMs: number, timeZone: string): string {
  let f = dayFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("sv-SE", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
    dayFormatters.set(timeZone, f);
  }
  return f.format(epochMs); // sv-SE formats dates as YYYY-MM-DD
}

// ---------------------------------------------------------------------------
// Generators.

const attribute = (values: string[]) => fc.constantFrom<string | null>(null, "", ...values);
const gapArb = fc.oneof(
  fc.constant(0), // duplicates
  fc.integer({ min: 1, max: 2_000 }), // sub-second to two seconds
  fc.integer({ min: 1, max: 180 }).map((s) => s * SECOND), // around typical timeouts
  fc.integer({ min: 0, max: 3 * HOUR }), // anything, ms precision
  fc.integer({ min: 3, max: 30 }).map((h) => h * HOUR), // across days
);
const heartbeatShape = fc.record({
  gap: gapArb,
  entity: fc.constantFrom<string | null>(
    null,
    "main.go",
    "/a/app.test.js",
    "C:\\x\\app.js",
    ".bashrc",
    "Makefile",
  ),
  project: attribute(["alpha", "beta"]),
  language: attribute(["Go", "JavaScript"]),
  editor: attribute(["GoLand", "vscode"]),
  operatingSystem: attribute(["Linux"]),
  machine: attribute(["m1", "m2"]),
  category: attribute(["coding", "debugging"]),
});
const mappingArb = fc.record({
  extension: fc.constantFrom("go", "js", "test.js", "bashrc", "app.js"),
  language: fc.constantFrom("Golang", "JS", "Jest", "Shell"),
});

/** One user: settings, heartbeats in `(time, id)` order, and a range of 1 to 5 days. */
export const scenarioArb = fc
  .record({
    timeZone: fc.constantFrom(...ZONES),
    timeoutMs: fc.constantFrom(SECOND, 60 * SECOND, 120 * SECOND, 600 * SECOND, 4 * HOUR),
    excludeUnknownProjects: fc.boolean(),
    languageMappings: fc.array(mappingArb, { maxLength: 3 }),
    anchor: fc.constantFrom(...ANCHORS),
    startOffset: fc.integer({ min: -36 * HOUR, max: 36 * HOUR }),
    shapes: fc.array(heartbeatShape, { maxLength: 80 }),
    rangeStartShift: fc.integer({ min: -3, max: 1 }),
    rangeDays: fc.integer({ min: 1, max: 5 }),
    idSeed: fc.integer({ min: 0, max: 1000 }),
  })
  .map((sc) => {
    const settings: UserSettings = {
      userId: "prop",
      timeZone: sc.timeZone,
      timeoutMs: sc.timeoutMs,
      excludeUnknownProjects: sc.excludeUnknownProjects,
      languageMappings: sc.languageMappings,
    };
    let time = sc.anchor + sc.startOffset;
    // Ids are not in time order: only ties on time must be broken by id.
    const heartbeats: Heartbeat[] = sc.shapes.map(({ gap, ...attributes }, i) => {
      time += gap;
      return { id: (i * 7919 + sc.idSeed) % 100_003, time, ...attributes };
    });
    heartbeats.sort(compareHeartbeats);
    const firstDay = naiveLocalDay(sc.anchor + sc.startOffset, sc.timeZone);
    const from = shiftDay(firstDay, sc.rangeStartShift);
    const range: DayRange = { from, to: shiftDay(from, sc.rangeDays - 1) };
    return { settings, heartbeats, range };
  });

export function shiftDay(day: string, n: number): string {
  return new Date(Date.parse(`${day}T12:00:00Z`) + n * 24 * HOUR).toISOString().slice(0, 10);
}
