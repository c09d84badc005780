import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addDays, compareDays, daysBetween, InvalidDayError, isLocalDay } from "../src/index";

/** The same day via Date (valid for years 1970-9999 with setUTCFullYear); an independent oracle. */
function viaDate(epochDay: number): string {
  return new Date(epochDay * 86_400_000).toISOString().slice(0, 10);
}

describe("isLocalDay", () => {
  it.each(["2025-01-01", "2024-02-29", "2000-02-29", "1999-12-31", "0000-01-01", "9999-12-31"])(
    "accepts %s",
    (s) => {
      expect(isLocalDay(s)).toBe(true);
    },
  );

  it.each([
    "2025-02-30",
    "2025-02-29",
    "1900-02-29",
    "2025-04-31",
    "2025-13-01",
    "2025-00-10",
    "2025-01-00",
    "2025-1-01",
    "2025-01-1",
    "25-01-01",
    "2025/01/01",
    "2025-01-01T00:00",
    " 2025-01-01",
    "２０２５-01-01",
    "",
    "abcd-ef-gh",
  ])("rejects %j", (s) => {
    expect(isLocalDay(s)).toBe(false);
  });

  it("agrees with Date on every day of 1970-2100", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 47_846 }), (n) => {
        expect(isLocalDay(viaDate(n))).toBe(true);
      }),
    );
  });
});

describe("addDays / compareDays / daysBetween", () => {
  it("crosses month, year and leap-day boundaries", () => {
    expect(addDays("2024-02-28", 1)).toBe("2024-02-29");
    expect(addDays("2024-02-29", 1)).toBe("2024-03-01");
    expect(addDays("2025-02-28", 1)).toBe("2025-03-01");
    expect(addDays("2024-12-31", 1)).toBe("2025-01-01");
    expect(addDays("2025-01-01", -1)).toBe("2024-12-31");
    expect(addDays("2025-03-15", 0)).toBe("2025-03-15");
    expect(addDays("2000-01-01", 366)).toBe("2001-01-01");
    expect(addDays("0000-01-01", 0)).toBe("0000-01-01");
    expect(addDays("9999-12-30", 1)).toBe("9999-12-31");
  });

  it("ignores time zones and DST entirely (pure calendar)", () => {
    expect(addDays("2025-03-08", 1)).toBe("2025-03-09");
    expect(daysBetween("2025-03-01", "2025-04-01")).toBe(31);
  });

  it("refuses malformed days, fractional counts and results outside 0000-9999", () => {
    expect(() => addDays("2025-02-30", 1)).toThrow(InvalidDayError);
    expect(() => addDays("2025-01-01", 0.5)).toThrow(InvalidDayError);
    expect(() => addDays("9999-12-31", 1)).toThrow(InvalidDayError);
    expect(() => addDays("0000-01-01", -1)).toThrow(InvalidDayError);
    expect(() => compareDays("2025-01-01", "2025-1-2")).toThrow(InvalidDayError);
    try {
      daysBetween("x", "2025-01-01");
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidDayError);
      expect((error as InvalidDayError).code).toBe("BAD_REQUEST");
    }
  });

  it("orders days and counts the days between them", () => {
    expect(compareDays("2025-01-01", "2025-01-02")).toBeLessThan(0);
    expect(compareDays("2025-01-02", "2025-01-01")).toBeGreaterThan(0);
    expect(compareDays("2025-01-02", "2025-01-02")).toBe(0);
    expect(daysBetween("2025-01-01", "2025-01-03")).toBe(2);
    expect(daysBetween("2025-01-03", "2025-01-01")).toBe(-2);
    expect(["2025-01-10", "2024-12-31", "2025-01-02"].sort(compareDays)).toEqual([
      "2024-12-31",
      "2025-01-02",
      "2025-01-10",
    ]);
  });

  it("matches Date arithmetic for random days and offsets", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2_900_000 }),
        fc.integer({ min: -20_000, max: 20_000 }),
        (start, n) => {
          fc.pre(start + n >= 0 && start + n <= 2_932_896);
          const day = viaDate(start);
          expect(addDays(day, n)).toBe(viaDate(start + n));
          expect(daysBetween(day, addDays(day, n))).toBe(n);
          // + 0 turns -0 into 0: toBe compares with Object.is
          expect(Math.sign(compareDays(day, addDays(day, n))) + 0).toBe(Math.sign(-n) + 0);
        },
      ),
    );
  });
});
