/**
 * The streaming reducer: one user's heartbeats in `(time, id)` order in,
 * finished `DaySummary`s out (SEMANTICS.md, "From heartbeats to credited time"
 * and "A summary").
 *
 * It holds only the previous heartbeat's attributes, the current run of
 * identically-attributed credits, and one map per item type for the current
 * day, so memory is O(distinct keys in one day) however long the history.
 */
import { AggregatorFinishedError, InvalidDayRangeError, OutOfOrderHeartbeatError } from "./errors";
import { createLanguageResolver, type LanguageResolver } from "./extension";
import { addDays, compareDays } from "./local-day";
import { startOfLocalDay } from "./time-zone";
import {
  type DayRange,
  type DaySummary,
  type Heartbeat,
  type LocalDay,
  type SummaryItem,
  SummaryItemType,
  type UserSettings,
} from "./types";

/** The key that empty or NULL attribute values are summarised under. */
export const UNKNOWN_KEY = "unknown";

/** The six item types a summary carries, in the order its items are listed. */
export const SUMMARY_ITEM_TYPES: readonly SummaryItemType[] = Object.freeze([
  SummaryItemType.project,
  SummaryItemType.language,
  SummaryItemType.editor,
  SummaryItemType.operatingSystem,
  SummaryItemType.machine,
  SummaryItemType.category,
]);

/** Shared result of pushes that finish no day: the hot path allocates no array. */
const NO_DAYS: readonly DaySummary[] = Object.freeze([]);

/**
 * The unrounded figures of a day, handed to {@link DayAggregatorOptions.onDayClosed}
 * before they are floored into items. The maps are reused for the next day:
 * read them during the call, copy what you keep.
 */
export interface DayClosedDetail {
  readonly day: LocalDay;
  readonly fromTime: number;
  readonly toTime: number;
  /** Sum of the credits of the day's kept heartbeats, in ms. */
  readonly creditedMs: number;
  readonly numHeartbeats: number;
  /** Per item type, per key, the summed credits in ms (keys with 0 included). */
  readonly totalsMs: ReadonlyMap<SummaryItemType, ReadonlyMap<string, number>>;
}

/** Optional hooks of a day aggregator. */
export interface DayAggregatorOptions {
  /** Called for each finished day with its unrounded ms totals (diagnostics and tests). */
  readonly onDayClosed?: (detail: DayClosedDetail) => void;
}

/** A streaming reducer over one user's heartbeats for one range of days; see {@link createDayAggregator}. */
export interface DayAggregator {
  /**
   * Feeds the next heartbeat. Returns the days this heartbeat proved finished
   * (usually none: a shared empty array), in day order.
   * @throws {OutOfOrderHeartbeatError} if `(time, id)` is not after the previous heartbeat's.
   * @throws {AggregatorFinishedError} after `finish()`.
   */
  push(heartbeat: Heartbeat): readonly DaySummary[];
  /** Ends the stream and returns every day not emitted yet; later calls return no days. */
  finish(): readonly DaySummary[];
}

/**
 * Creates the streaming reducer for one user and an inclusive range of local days.
 *
 * Feed it the user's heartbeats in `(time, id)` order (typically straight
 * from a database cursor); heartbeats before the range's first day or at/after
 * the end of its last day are ignored. Every day of the range is emitted
 * exactly once, in order, including days without heartbeats (`numHeartbeats`
 * 0, no items). The only days not emitted are ones that do not exist in the
 * user's zone (Pacific/Apia 2011-12-30), which would share their start with
 * the next day.
 *
 * Items: for each of the six types, one item per key that had a kept
 * heartbeat that day, even when its total is 0 (so "had heartbeats, credited
 * nothing" stays visible), listed by type (project, language, editor,
 * operating system, machine, category), then by key in code-unit order.
 *
 * @example
 * const aggregator = createDayAggregator(settings, { from: "2025-01-01", to: "2025-01-31" });
 * for await (const heartbeat of cursor) for (const day of aggregator.push(heartbeat)) await save(day);
 * for (const day of aggregator.finish()) await save(day);
 * @throws {InvalidDayRangeError} when `range.from` is after `range.to`.
 */
export function createDayAggregator(
  settings: UserSettings,
  range: DayRange,
  options: DayAggregatorOptions = {},
): DayAggregator {
  return new StreamingDayAggregator(settings, range, options);
}

/**
 * Feeds `heartbeats` (in `(time, id)` order) through a day aggregator and
 * returns every day of `range`.
 *
 * @example
 * const days = summarizeDays(settings, { from: "2025-01-01", to: "2025-01-07" }, rows.sort(compareHeartbeats));
 * @throws {OutOfOrderHeartbeatError} when `heartbeats` is not ordered by `(time, id)`.
 */
export function summarizeDays(
  settings: UserSettings,
  range: DayRange,
  heartbeats: Iterable<Heartbeat>,
  options?: DayAggregatorOptions,
): DaySummary[] {
  const aggregator = createDayAggregator(settings, range, options);
  const days: DaySummary[] = [];
  for (const heartbeat of heartbeats) {
    const finished = aggregator.push(heartbeat);
    for (let i = 0; i < finished.length; i++) days.push(finished[i]!);
  }
  for (const day of aggregator.finish()) days.push(day);
  return days;
}

function keyOf(value: string | null | undefined): string {
  // null, undefined and "" all mean "unknown"
  return value || UNKNOWN_KEY;
}

function addTo(totals: Map<string, number>, key: string, ms: number): void {
  totals.set(key, (totals.get(key) ?? 0) + ms);
}

class StreamingDayAggregator implements DayAggregator {
  readonly #userId: string;
  readonly #timeZone: string;
  readonly #timeoutMs: number;
  readonly #excludeUnknownProjects: boolean;
  readonly #resolveLanguage: LanguageResolver | null;
  readonly #onDayClosed: ((detail: DayClosedDetail) => void) | undefined;
  readonly #lastDay: LocalDay;
  readonly #rangeStart: number;

  // The day being accumulated: [#dayStart, #dayEnd).
  #day: LocalDay;
  #dayStart: number;
  #dayEnd: number;
  /** Every day of the range has been emitted. */
  #done = false;
  #finished = false;

  // Order check.
  #lastTime = Number.NEGATIVE_INFINITY;
  #lastId = Number.NEGATIVE_INFINITY;

  // The previous heartbeat of the current day, still waiting for its credit.
  #hasPrevious = false;
  #previousTime = 0;
  #previousKept = false;
  #previousProject = "";
  #previousLanguage = "";
  #previousEditor = "";
  #previousOperatingSystem = "";
  #previousMachine = "";
  #previousCategory = "";

  // Consecutive kept heartbeats with identical attributes are summed here and
  // written to the maps once per run (Wakapi's "durations"), saving 12 map
  // operations per heartbeat on typical streams.
  #hasRun = false;
  #runMs = 0;
  #runProject = "";
  #runLanguage = "";
  #runEditor = "";
  #runOperatingSystem = "";
  #runMachine = "";
  #runCategory = "";

  // Language resolution memo: consecutive heartbeats usually share an entity.
  #memoEntity: string | null | undefined = undefined;
  #memoLanguage: string | null | undefined = undefined;
  #memoResolved: string | null = null;
  #hasMemo = false;

  // The current day's accumulators.
  #numHeartbeats = 0;
  #creditedMs = 0;
  readonly #projects = new Map<string, number>();
  readonly #languages = new Map<string, number>();
  readonly #editors = new Map<string, number>();
  readonly #operatingSystems = new Map<string, number>();
  readonly #machines = new Map<string, number>();
  readonly #categories = new Map<string, number>();
  /** The six maps in SUMMARY_ITEM_TYPES order. */
  readonly #totals: readonly Map<string, number>[];
  readonly #totalsByType: ReadonlyMap<SummaryItemType, ReadonlyMap<string, number>>;

  constructor(settings: UserSettings, range: DayRange, options: DayAggregatorOptions) {
    if (compareDays(range.from, range.to) > 0) throw new InvalidDayRangeError(range.from, range.to);
    this.#userId = settings.userId;
    this.#timeZone = settings.timeZone;
    this.#timeoutMs = settings.timeoutMs;
    this.#excludeUnknownProjects = settings.excludeUnknownProjects;
    const resolver = createLanguageResolver(settings.languageMappings);
    this.#resolveLanguage = settings.languageMappings.length > 0 ? resolver : null;
    this.#onDayClosed = options.onDayClosed;
    this.#lastDay = range.to;
    this.#day = range.from;
    this.#dayStart = startOfLocalDay(range.from, settings.timeZone);
    this.#dayEnd = startOfLocalDay(addDays(range.from, 1), settings.timeZone);
    this.#rangeStart = this.#dayStart;
    this.#totals = [
      this.#projects,
      this.#languages,
      this.#editors,
      this.#operatingSystems,
      this.#machines,
      this.#categories,
    ];
    this.#totalsByType = new Map(SUMMARY_ITEM_TYPES.map((type, i) => [type, this.#totals[i]!]));
  }

  push(heartbeat: Heartbeat): readonly DaySummary[] {
    const time = heartbeat.time;
    const id = heartbeat.id;
    // Written so that NaN fails too.
    if (!(time > this.#lastTime || (time === this.#lastTime && id > this.#lastId))) {
      throw new OutOfOrderHeartbeatError({ time: this.#lastTime, id: this.#lastId }, { time, id });
    }
    if (this.#finished) throw new AggregatorFinishedError();
    this.#lastTime = time;
    this.#lastId = id;

    if (time < this.#rangeStart || this.#done) return NO_DAYS;
    let finishedDays = NO_DAYS;
    if (time >= this.#dayEnd) {
      finishedDays = this.#closeDaysBefore(time);
      if (this.#done) return finishedDays; // past the range: ignored
    }

    if (this.#hasPrevious) {
      const gap = time - this.#previousTime;
      this.#credit(gap < this.#timeoutMs ? gap : 0);
    }
    this.#hasPrevious = true;
    this.#previousTime = time;
    const project = heartbeat.project;
    // Excluded heartbeats still end the previous heartbeat's gap (above); only their own credit is lost.
    this.#previousKept = !(this.#excludeUnknownProjects && !project);
    if (this.#previousKept) {
      this.#numHeartbeats++;
      this.#previousProject = keyOf(project);
      this.#previousLanguage = keyOf(this.#languageOf(heartbeat));
      this.#previousEditor = keyOf(heartbeat.editor);
      this.#previousOperatingSystem = keyOf(heartbeat.operatingSystem);
      this.#previousMachine = keyOf(heartbeat.machine);
      this.#previousCategory = keyOf(heartbeat.category);
    }
    return finishedDays;
  }

  finish(): readonly DaySummary[] {
    if (this.#finished) return NO_DAYS;
    this.#finished = true;
    return this.#done ? NO_DAYS : this.#closeDaysBefore(Number.POSITIVE_INFINITY);
  }

  #languageOf(heartbeat: Heartbeat): string | null {
    const resolve = this.#resolveLanguage;
    if (resolve === null) return heartbeat.language;
    const entity = heartbeat.entity;
    const language = heartbeat.language;
    if (!this.#hasMemo || entity !== this.#memoEntity || language !== this.#memoLanguage) {
      this.#memoEntity = entity;
      this.#memoLanguage = language;
      this.#memoResolved = resolve(entity, language);
      this.#hasMemo = true;
    }
    return this.#memoResolved;
  }

  /** Settles the previous heartbeat's credit (it was kept or not; excluded ones add nothing). */
  #credit(ms: number): void {
    if (!this.#previousKept) return;
    this.#creditedMs += ms;
    if (
      this.#hasRun &&
      this.#runProject === this.#previousProject &&
      this.#runLanguage === this.#previousLanguage &&
      this.#runEditor === this.#previousEditor &&
      this.#runOperatingSystem === this.#previousOperatingSystem &&
      this.#runMachine === this.#previousMachine &&
      this.#runCategory === this.#previousCategory
    ) {
      this.#runMs += ms;
      return;
    }
    this.#flushRun();
    this.#hasRun = true;
    this.#runMs = ms;
    this.#runProject = this.#previousProject;
    this.#runLanguage = this.#previousLanguage;
    this.#runEditor = this.#previousEditor;
    this.#runOperatingSystem = this.#previousOperatingSystem;
    this.#runMachine = this.#previousMachine;
    this.#runCategory = this.#previousCategory;
  }

  #flushRun(): void {
    if (!this.#hasRun) return;
    const ms = this.#runMs;
    addTo(this.#projects, this.#runProject, ms);
    addTo(this.#languages, this.#runLanguage, ms);
    addTo(this.#editors, this.#runEditor, ms);
    addTo(this.#operatingSystems, this.#runOperatingSystem, ms);
    addTo(this.#machines, this.#runMachine, ms);
    addTo(this.#categories, this.#runCategory, ms);
    this.#hasRun = false;
  }

  /** Emits the current day and every following day of the range that ends at or before `time`. */
  #closeDaysBefore(time: number): readonly DaySummary[] {
    const days: DaySummary[] = [];
    while (time >= this.#dayEnd) {
      const summary = this.#closeDay();
      // A day that does not exist in the zone has an empty interval; it has no summary.
      if (this.#dayEnd > this.#dayStart) days.push(summary);
      if (this.#day === this.#lastDay) {
        this.#done = true;
        break;
      }
      const next = addDays(this.#day, 1);
      this.#day = next;
      this.#dayStart = this.#dayEnd;
      this.#dayEnd = startOfLocalDay(addDays(next, 1), this.#timeZone);
    }
    return days;
  }

  /** Builds the current day's summary and resets the accumulators for the next day. */
  #closeDay(): DaySummary {
    // The day's last heartbeat earns nothing: no credit crosses midnight.
    if (this.#hasPrevious) this.#credit(0);
    this.#hasPrevious = false;
    this.#flushRun();
    this.#onDayClosed?.({
      day: this.#day,
      fromTime: this.#dayStart,
      toTime: this.#dayEnd,
      creditedMs: this.#creditedMs,
      numHeartbeats: this.#numHeartbeats,
      totalsMs: this.#totalsByType,
    });
    const items: SummaryItem[] = [];
    for (let i = 0; i < SUMMARY_ITEM_TYPES.length; i++) {
      const totals = this.#totals[i]!;
      if (totals.size === 0) continue;
      const type = SUMMARY_ITEM_TYPES[i]!;
      const keys = [...totals.keys()].sort();
      for (const key of keys) {
        // Floored per key, after summing in ms (SEMANTICS.md).
        items.push(Object.freeze({ type, key, total: Math.floor(totals.get(key)! / 1000) }));
      }
      totals.clear();
    }
    const summary: DaySummary = Object.freeze({
      userId: this.#userId,
      day: this.#day,
      fromTime: this.#dayStart,
      toTime: this.#dayEnd,
      numHeartbeats: this.#numHeartbeats,
      items: Object.freeze(items),
    });
    this.#numHeartbeats = 0;
    this.#creditedMs = 0;
    return summary;
  }
}
