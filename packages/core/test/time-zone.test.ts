import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  addDays,
  compareDays,
  InvalidTimeZoneError,
  localDayOf,
  resolveTimeZone,
  startOfLocalDay,
  yesterdayIn,
} from "../src/index";
import { ZONES } from "./scenarios";
import { at, HOUR, MINUTE } from "./support";

/** An oracle independent of the implementation: the local date via formatToParts in another locale. */
const oracles = new Map<string, Intl.DateTimeFormat>();
function referenceDay(epochMs: number, timeZone: string): string {
  let f = oracles.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-GB", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
    oracles.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(epochMs).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}`;
}

const TRICKY_ZONES = [
  ...ZONES,
  "America/St_Johns",
  "Asia/Tehran",
  "Africa/Casablanca",
  "Europe/Dublin",
  "Pacific/Kiritimati",
  "Pacific/Pago_Pago",
  "America/Santiago",
  "Asia/Gaza",
];

describe("resolveTimeZone", () => {
  it("keeps names Intl knows, as given", () => {
    expect(resolveTimeZone("Europe/Berlin")).toBe("Europe/Berlin");
    expect(resolveTimeZone("Asia/Kolkata")).toBe("Asia/Kolkata");
    expect(resolveTimeZone("UTC")).toBe("UTC");
    expect(resolveTimeZone("Etc/GMT+5")).toBe("Etc/GMT+5");
  });

  it.each([null, undefined, "", "Mars/Olympus", "Europe/Berlinn", " Europe/Berlin", "Local", "+05:30"])(
    "turns %j into UTC",
    (location) => {
      expect(resolveTimeZone(location)).toBe("UTC");
    },
  );

  it("gives the same answer when asked again (memoised)", () => {
    expect(resolveTimeZone("Nowhere/Atall")).toBe("UTC");
    expect(resolveTimeZone("Nowhere/Atall")).toBe("UTC");
    expect(resolveTimeZone("America/Havana")).toBe("America/Havana");
  });
});

describe("localDayOf", () => {
  it("reads the local calendar date", () => {
    expect(localDayOf(at("2025-01-01T03:00:00Z"), "America/New_York")).toBe("2024-12-31");
    expect(localDayOf(at("2025-01-01T05:00:00Z"), "America/New_York")).toBe("2025-01-01");
    expect(localDayOf(at("2025-05-31T18:29:59.999Z"), "Asia/Kolkata")).toBe("2025-05-31");
    expect(localDayOf(at("2025-05-31T18:30:00Z"), "Asia/Kolkata")).toBe("2025-06-01");
    expect(localDayOf(at("2025-05-31T18:15:00Z"), "Asia/Kathmandu")).toBe("2025-06-01");
    expect(localDayOf(at("2025-05-31T18:14:59.999Z"), "Asia/Kathmandu")).toBe("2025-05-31");
    expect(localDayOf(0, "UTC")).toBe("1970-01-01");
    expect(localDayOf(-1, "UTC")).toBe("1969-12-31");
    expect(localDayOf(-0.5, "UTC")).toBe("1969-12-31");
  });

  it("agrees with an independent reading for any instant, asked once or again (it is memoised per second)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...TRICKY_ZONES),
        fc.integer({ min: at("1900-01-01T00:00:00Z"), max: at("2100-01-01T00:00:00Z") }),
        (zone, t) => {
          const second = Math.floor(t / 1000) * 1000;
          const expected = referenceDay(t, zone);
          // The first and last millisecond of the instant's second share its day.
          for (const u of [t, second, second + 999, t]) expect(localDayOf(u, zone)).toBe(expected);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it("stays exact past its memo's bound, across local midnights", () => {
    // Seconds around every local midnight of 40 years in a zone whose offsets
    // changed often: far more distinct instants than the memo holds.
    const zone = "America/Sao_Paulo";
    for (let pass = 0; pass < 2; pass++) {
      let day = "1985-01-01";
      for (let i = 0; i < 3_000; i++, day = addDays(day, 5)) {
        const start = startOfLocalDay(day, zone);
        for (const t of [start - 1_000, start - 1, start, start + 999]) {
          expect(localDayOf(t, zone)).toBe(referenceDay(t, zone));
        }
      }
    }
  });

  it("refuses unresolved zone names with a named error", () => {
    expect(() => localDayOf(0, "Mars/Olympus")).toThrow(InvalidTimeZoneError);
    expect(() => startOfLocalDay("2025-01-01", "Mars/Olympus")).toThrow(InvalidTimeZoneError);
  });
});

describe("startOfLocalDay", () => {
  // [zone, day, expected start (UTC), expected length in hours]
  const cases: [string, string, string, number][] = [
    ["UTC", "2025-06-01", "2025-06-01T00:00:00Z", 24],
    // US DST start (02:00 -> 03:00) and end (02:00 -> 01:00)
    ["America/New_York", "2025-03-09", "2025-03-09T05:00:00Z", 23],
    ["America/New_York", "2025-11-02", "2025-11-02T04:00:00Z", 25],
    ["America/New_York", "2025-03-08", "2025-03-08T05:00:00Z", 24],
    // EU DST start (02:00 -> 03:00 CET) and end (03:00 -> 02:00 CEST)
    ["Europe/Berlin", "2025-03-30", "2025-03-29T23:00:00Z", 23],
    ["Europe/Berlin", "2025-10-26", "2025-10-25T22:00:00Z", 25],
    // half- and quarter-hour offsets
    ["Asia/Kolkata", "2025-06-01", "2025-05-31T18:30:00Z", 24],
    ["Asia/Kathmandu", "2025-06-01", "2025-05-31T18:15:00Z", 24],
    // +13:45 in summer, +12:45 in winter, switching at 02:45/03:45 local
    ["Pacific/Chatham", "2025-01-15", "2025-01-14T10:15:00Z", 24],
    ["Pacific/Chatham", "2025-07-01", "2025-06-30T11:15:00Z", 24],
    ["Pacific/Chatham", "2025-04-06", "2025-04-05T10:15:00Z", 25],
    ["Pacific/Chatham", "2025-09-28", "2025-09-27T11:15:00Z", 23],
    // 30-minute DST shift
    ["Australia/Lord_Howe", "2025-04-06", "2025-04-05T13:00:00Z", 24.5],
    ["Australia/Lord_Howe", "2025-10-05", "2025-10-04T13:30:00Z", 23.5],
    // DST starts at midnight: 00:00 does not exist, the day starts at 01:00 local
    ["America/Sao_Paulo", "2018-11-04", "2018-11-04T03:00:00Z", 23],
    ["America/Sao_Paulo", "2018-11-03", "2018-11-03T03:00:00Z", 24],
    // DST ends at midnight back to 23:00 of the day before: that day has 25 hours
    ["America/Sao_Paulo", "2019-02-16", "2019-02-16T02:00:00Z", 25],
    ["America/Sao_Paulo", "2019-02-17", "2019-02-17T03:00:00Z", 24],
    // Cuba: DST starts at 00:00 -> 01:00; ends 01:00 -> 00:00, so midnight happens twice (the first counts)
    ["America/Havana", "2025-03-09", "2025-03-09T05:00:00Z", 23],
    ["America/Havana", "2025-11-02", "2025-11-02T04:00:00Z", 25],
  ];

  it.each(cases)("%s %s starts at %s and lasts %dh", (zone, day, start, hours) => {
    const from = startOfLocalDay(day, zone);
    const to = startOfLocalDay(addDays(day, 1), zone);
    expect(new Date(from).toISOString()).toBe(new Date(at(start)).toISOString());
    expect((to - from) / HOUR).toBe(hours);
    expect(localDayOf(from, zone)).toBe(day);
    expect(localDayOf(from - 1, zone)).toBe(addDays(day, -1));
    // repeated calls come from the memo and must agree
    expect(startOfLocalDay(day, zone)).toBe(from);
  });

  it("gives a day skipped by the zone (Samoa, 2011-12-30) an empty interval", () => {
    const skipped = startOfLocalDay("2011-12-30", "Pacific/Apia");
    expect(startOfLocalDay("2011-12-31", "Pacific/Apia")).toBe(skipped);
    expect(new Date(skipped).toISOString()).toBe("2011-12-30T10:00:00.000Z");
    expect(skipped - startOfLocalDay("2011-12-29", "Pacific/Apia")).toBe(24 * HOUR);
  });

  it("is the first instant of the day for random days in DST and odd-offset zones", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...TRICKY_ZONES),
        fc.integer({ min: 0, max: 25_000 }), // 1970 .. 2038
        (zone, n) => {
          const day = addDays("1970-01-01", n);
          const start = startOfLocalDay(day, zone);
          expect(referenceDay(start, zone)).toBe(day);
          expect(compareDays(referenceDay(start - 1, zone), day)).toBeLessThan(0);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("is right on every day around every 2018-2026 offset change of the tricky zones", () => {
    for (const zone of TRICKY_ZONES) {
      let day = "2018-01-01";
      let start = startOfLocalDay(day, zone);
      while (day < "2026-12-31") {
        const next = addDays(day, 1);
        const nextStart = startOfLocalDay(next, zone);
        if (nextStart - start !== 24 * HOUR) {
          for (const d of [day, next]) {
            const s = startOfLocalDay(d, zone);
            expect(referenceDay(s, zone), `${zone} ${d}`).toBe(d);
            expect(compareDays(referenceDay(s - 1, zone), d), `${zone} ${d}`).toBeLessThan(0);
          }
        }
        day = next;
        start = nextStart;
      }
    }
  });

  it("is fast enough for a batch (100k uncached day starts in seconds, not minutes)", () => {
    const zones = ["Europe/Berlin", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe"];
    const started = performance.now();
    let day = "1700-01-01";
    for (let i = 0; i < 25_000; i++) {
      day = addDays(day, 1);
      for (const zone of zones) startOfLocalDay(day, zone);
    }
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

describe("yesterdayIn", () => {
  it("is the day before today in the zone", () => {
    const now = at("2025-06-01T16:00:00Z");
    expect(yesterdayIn("UTC", now)).toBe("2025-05-31");
    expect(yesterdayIn("Asia/Tokyo", now)).toBe("2025-06-01"); // already June 2 there
    expect(yesterdayIn("Pacific/Pago_Pago", now)).toBe("2025-05-31"); // 05:00 on June 1 there
    expect(yesterdayIn("America/Los_Angeles", at("2025-06-01T06:59:00Z"))).toBe("2025-05-30");
  });

  it("follows the local midnight exactly, including DST days", () => {
    const start = startOfLocalDay("2025-03-31", "Europe/Berlin");
    expect(yesterdayIn("Europe/Berlin", start - 1)).toBe("2025-03-29");
    expect(yesterdayIn("Europe/Berlin", start)).toBe("2025-03-30");
    expect(yesterdayIn("Europe/Berlin", start + 10 * MINUTE)).toBe("2025-03-30");
  });
});
