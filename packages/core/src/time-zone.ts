/**
 * Local days in an IANA time zone, on Node 20's Intl (no Temporal).
 *
 * The only primitive is "wall-clock fields of an instant in a zone", read from
 * one cached `Intl.DateTimeFormat` per zone. Everything else (offsets, day
 * starts) is derived from it, so the results agree with the runtime's tzdata
 * by construction.
 */
import { InvalidTimeZoneError } from "./errors";
import { addDays, epochDayFromCivil, epochDayOf, localDayFromEpochDay } from "./local-day";
import type { LocalDay } from "./types";

const SECOND = 1000;
const DAY = 86_400_000;
/** Day starts memoised per zone; a batch asks for the same days over and over. */
const DAY_START_CACHE_LIMIT = 1024;
/**
 * Local days of instants memoised per zone (see {@link localDayOf}). Small: the
 * instants asked for again are few per zone, and unique ones (first heartbeats)
 * only pass through; a few hundred zones stay within a few MB.
 */
const LOCAL_DAY_CACHE_LIMIT = 256;

/** Index in the formatter's digit groups of each field, learnt once per zone (locale data may vary). */
interface FieldOrder {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

interface Zone {
  readonly formatter: Intl.DateTimeFormat;
  readonly order: FieldOrder;
  readonly dayStarts: Map<LocalDay, number>;
  /** Local day by whole epoch second of the instant. */
  readonly localDays: Map<number, LocalDay>;
}

const zones = new Map<string, Zone>();
const resolvedNames = new Map<string, string>();
const RESOLVED_NAMES_LIMIT = 10_000;

function createFormatter(timeZone: string): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
  });
}

function learnFieldOrder(formatter: Intl.DateTimeFormat): FieldOrder {
  const order = { year: -1, month: -1, day: -1, hour: -1, minute: -1, second: -1 };
  let index = 0;
  for (const part of formatter.formatToParts(0)) {
    if (part.type in order) order[part.type as keyof FieldOrder] = index++;
  }
  return order;
}

function zoneOf(timeZone: string): Zone {
  let zone = zones.get(timeZone);
  if (zone === undefined) {
    let formatter: Intl.DateTimeFormat;
    try {
      formatter = createFormatter(timeZone);
    } catch (cause) {
      throw new InvalidTimeZoneError(timeZone, { cause });
    }
    zone = { formatter, order: learnFieldOrder(formatter), dayStarts: new Map(), localDays: new Map() };
    zones.set(timeZone, zone);
  }
  return zone;
}

// Scratch space for the digit groups of one formatted instant; the hot path allocates nothing else.
const groups = [0, 0, 0, 0, 0, 0, 0, 0];

/** Parses the digit groups of `format(t)` into `groups`; faster than formatToParts (no part objects). */
function readGroups(zone: Zone, t: number): void {
  // Date truncates toward zero; floor so that pre-1970 fractional instants land in the right second.
  const text = zone.formatter.format(Math.floor(t));
  let g = 0;
  let value = -1;
  for (let i = 0; i < text.length; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d >= 0 && d <= 9) {
      value = value < 0 ? d : value * 10 + d;
    } else if (value >= 0) {
      groups[g++] = value;
      value = -1;
    }
  }
  if (value >= 0) groups[g] = value;
}

/** Wall-clock time of instant `t` in the zone, as ms since 1970-01-01T00:00 on that wall clock (whole seconds). */
function wallSeconds(zone: Zone, t: number): number {
  readGroups(zone, t);
  const o = zone.order;
  // Some ICU versions print midnight as 24 even in h23; it is hour 0 of the same day.
  const hour = groups[o.hour]! % 24;
  const epochDay = epochDayFromCivil(groups[o.year]!, groups[o.month]!, groups[o.day]!);
  return (epochDay * 86_400 + hour * 3600 + groups[o.minute]! * 60 + groups[o.second]!) * SECOND;
}

/** UTC offset in ms in effect at instant `t` (tzdata offsets are whole seconds). */
function offsetAt(zone: Zone, t: number): number {
  const second = Math.floor(t / SECOND) * SECOND;
  return wallSeconds(zone, second) - second;
}

/**
 * A valid zone name for `location`: the name itself when Intl accepts it,
 * otherwise `"UTC"` (empty, NULL, misspelt or unknown names all become UTC).
 * The accepted name is returned as given, not canonicalised: Intl would turn
 * `Asia/Kolkata` into `Asia/Calcutta`, which only confuses readers.
 *
 * @example
 * resolveTimeZone("Europe/Berlin"); // "Europe/Berlin"
 * resolveTimeZone("Mars/Olympus");  // "UTC"
 * resolveTimeZone(null);            // "UTC"
 */
export function resolveTimeZone(location: string | null | undefined): string {
  if (typeof location !== "string" || location === "") return "UTC";
  const known = resolvedNames.get(location);
  if (known !== undefined) return known;
  let resolved = "UTC";
  if (zones.has(location)) {
    resolved = location;
  } else {
    try {
      createFormatter(location);
      resolved = location;
    } catch {
      // Intl throws RangeError for unknown zones; the rules say they mean UTC.
    }
  }
  // Locations come from user rows; bound the memo so odd data cannot grow it forever.
  if (resolvedNames.size >= RESOLVED_NAMES_LIMIT) resolvedNames.clear();
  resolvedNames.set(location, resolved);
  return resolved;
}

/**
 * The local calendar day of instant `epochMs` in `timeZone`.
 *
 * @example
 * localDayOf(Date.UTC(2025, 0, 1, 3), "America/New_York"); // "2024-12-31"
 * @throws {InvalidTimeZoneError} when `timeZone` is not a zone Intl knows.
 */
export function localDayOf(epochMs: number, timeZone: string): LocalDay {
  const zone = zoneOf(timeZone);
  // Memoised by the instant's whole second, on which the formatted wall clock
  // (and so the day) solely depends. Planning a batch asks for the same few
  // instants per zone over and over (yesterday at the batch's now, the day
  // starts of users' latest summaries), and each miss costs an ICU format:
  // 10 to 20 us, which was a tenth of a nightly run's main thread (BENCHMARKS.md).
  const second = Math.floor(epochMs / SECOND);
  const cached = zone.localDays.get(second);
  if (cached !== undefined) return cached;
  const day = localDayFromEpochDay(Math.floor(wallSeconds(zone, epochMs) / DAY));
  if (zone.localDays.size >= LOCAL_DAY_CACHE_LIMIT) zone.localDays.clear();
  zone.localDays.set(second, day);
  return day;
}

/**
 * Epoch ms of the first instant whose local date in `timeZone` is `day`.
 *
 * Normally local midnight. Where midnight does not exist because clocks jump
 * forward at 00:00 (America/Sao_Paulo 2018-11-04, America/Havana), it is the
 * first instant after the jump (01:00). Where midnight happens twice (clocks
 * fall back to 00:00), it is the earlier one. A day skipped entirely (Pacific/Apia
 * 2011-12-30) gets the same start as the next day, i.e. an empty interval.
 * Memoised per zone: a batch asks for each day once per user.
 *
 * @example
 * startOfLocalDay("2025-03-30", "Europe/Berlin"); // Date.UTC(2025, 2, 29, 23)
 * @throws {InvalidDayError} for a malformed day; {InvalidTimeZoneError} for an unknown zone.
 */
export function startOfLocalDay(day: LocalDay, timeZone: string): number {
  const zone = zoneOf(timeZone);
  const cached = zone.dayStarts.get(day);
  if (cached !== undefined) return cached;
  const start = computeStartOfDay(zone, epochDayOf(day) * DAY);
  if (zone.dayStarts.size >= DAY_START_CACHE_LIMIT) zone.dayStarts.clear();
  zone.dayStarts.set(day, start);
  return start;
}

/**
 * `wallMidnight` is the day's midnight read as if it were UTC. Any instant
 * showing that wall time lies within about ±16 h of it (the widest offsets
 * ever used), so offsets one day either side bracket every candidate; tz
 * transitions are months apart, so at most one lies between them.
 */
function computeStartOfDay(zone: Zone, wallMidnight: number): number {
  const before = offsetAt(zone, wallMidnight - DAY);
  const after = offsetAt(zone, wallMidnight + DAY);
  const early = wallMidnight - before;
  if (offsetAt(zone, early) === before) return early; // midnight exists under the earlier offset (the first one, if twice)
  if (after !== before) {
    const late = wallMidnight - after;
    if (offsetAt(zone, late) === after) return late; // midnight exists under the later offset
  }
  // No instant shows 00:00 (clocks jumped over it), or the window held more than one transition:
  // search for the first instant whose wall clock reaches the day.
  return firstInstantReaching(zone, wallMidnight);
}

/** Binary search, in whole seconds (tz transitions fall on whole seconds), for the first instant with wall time >= `wall`. */
function firstInstantReaching(zone: Zone, wall: number): number {
  let lo = Math.floor((wall - 2 * DAY) / SECOND); // wall clock there is certainly before `wall`
  let hi = Math.floor((wall + 2 * DAY) / SECOND); // and certainly at or after it here
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (wallSeconds(zone, mid * SECOND) >= wall) hi = mid;
    else lo = mid;
  }
  return hi * SECOND;
}

/**
 * The local day before the one containing `nowMs` in `timeZone`: the last
 * complete day, i.e. the latest day the engine may summarise.
 *
 * @example
 * yesterdayIn("Asia/Tokyo", Date.UTC(2025, 5, 1, 16)); // "2025-06-01" (it is already June 2 in Tokyo)
 */
export function yesterdayIn(timeZone: string, nowMs: number): LocalDay {
  return addDays(localDayOf(nowMs, timeZone), -1);
}
