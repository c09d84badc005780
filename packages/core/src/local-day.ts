/**
 * Pure calendar arithmetic on `YYYY-MM-DD` days (proleptic Gregorian, years
 * 0000-9999). No time zones here: a LocalDay is just a date on a wall calendar.
 * Days are converted to a day count since 1970-01-01 with Howard Hinnant's
 * civil-date formulas, so arithmetic needs no Date objects and no allocation
 * besides the result string.
 */
import { InvalidDayError } from "./errors";
import type { LocalDay } from "./types";

const CHAR_0 = 48;
const CHAR_DASH = 45;
const MIN_EPOCH_DAY = -719_528; // 0000-01-01
const MAX_EPOCH_DAY = 2_932_896; // 9999-12-31

function digit(s: string, i: number): number {
  const d = s.charCodeAt(i) - CHAR_0;
  // NaN (past the end) fails this comparison too
  return d >= 0 && d <= 9 ? d : -1;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Day count since 1970-01-01 of a proleptic Gregorian date.
 * @internal
 */
export function epochDayFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/**
 * The `YYYY-MM-DD` string of a day count since 1970-01-01.
 * @internal
 */
export function localDayFromEpochDay(epochDay: number): LocalDay {
  if (!Number.isInteger(epochDay) || epochDay < MIN_EPOCH_DAY || epochDay > MAX_EPOCH_DAY) {
    throw new InvalidDayError(epochDay, "is outside the supported days 0000-01-01..9999-12-31");
  }
  const z = epochDay + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return `${String(year).padStart(4, "0")}-${month < 10 ? "0" : ""}${month}-${day < 10 ? "0" : ""}${day}`;
}

/**
 * Day count since 1970-01-01 of `s`, or `NaN` when `s` is not a strict
 * `YYYY-MM-DD` real calendar date. Parses by char codes: it runs once per day
 * per user in a batch.
 * @internal
 */
export function tryEpochDayOf(s: string): number {
  if (typeof s !== "string" || s.length !== 10) return Number.NaN;
  if (s.charCodeAt(4) !== CHAR_DASH || s.charCodeAt(7) !== CHAR_DASH) return Number.NaN;
  const y0 = digit(s, 0);
  const y1 = digit(s, 1);
  const y2 = digit(s, 2);
  const y3 = digit(s, 3);
  const m0 = digit(s, 5);
  const m1 = digit(s, 6);
  const d0 = digit(s, 8);
  const d1 = digit(s, 9);
  if ((y0 | y1 | y2 | y3 | m0 | m1 | d0 | d1) < 0) return Number.NaN;
  const year = y0 * 1000 + y1 * 100 + y2 * 10 + y3;
  const month = m0 * 10 + m1;
  const day = d0 * 10 + d1;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return Number.NaN;
  return epochDayFromCivil(year, month, day);
}

/**
 * Day count since 1970-01-01 of `day`.
 * @throws {InvalidDayError} when `day` is not a strict `YYYY-MM-DD` calendar date.
 * @internal
 */
export function epochDayOf(day: LocalDay): number {
  const n = tryEpochDayOf(day);
  if (Number.isNaN(n)) throw new InvalidDayError(day);
  return n;
}

/**
 * Whether `s` is a strict `YYYY-MM-DD` string naming a real calendar date.
 *
 * @example
 * isLocalDay("2024-02-29"); // true (leap year)
 * isLocalDay("2025-02-30"); // false
 * isLocalDay("2025-2-3");   // false (not zero-padded)
 */
export function isLocalDay(s: string): boolean {
  return !Number.isNaN(tryEpochDayOf(s));
}

/**
 * The day `n` calendar days after `day` (before it when `n` is negative).
 *
 * @example
 * addDays("2024-02-28", 1); // "2024-02-29"
 * addDays("2025-01-01", -1); // "2024-12-31"
 * @throws {InvalidDayError} for a malformed day, a non-integer `n`, or a result outside 0000-9999.
 */
export function addDays(day: LocalDay, n: number): LocalDay {
  if (!Number.isInteger(n)) throw new InvalidDayError(n, "is not a whole number of days");
  return localDayFromEpochDay(epochDayOf(day) + n);
}

/**
 * Orders two days: negative when `a` is earlier, 0 when equal, positive when later.
 * Usable directly as an `Array.prototype.sort` comparator.
 * @throws {InvalidDayError} when either is not a valid day.
 */
export function compareDays(a: LocalDay, b: LocalDay): number {
  return epochDayOf(a) - epochDayOf(b);
}

/**
 * Number of calendar days from `a` to `b` (`b - a`): `daysBetween("2025-01-01", "2025-01-03") === 2`.
 * @throws {InvalidDayError} when either is not a valid day.
 */
export function daysBetween(a: LocalDay, b: LocalDay): number {
  return epochDayOf(b) - epochDayOf(a);
}
