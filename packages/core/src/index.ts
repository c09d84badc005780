/**
 * `@agg/core`: the pure aggregation rules of SEMANTICS.md. Local days in a
 * user's zone, crediting heartbeats, summaries and day planning. No I/O, no
 * dependencies; everything here is deterministic given its arguments.
 */

export {
  createDayAggregator,
  type DayAggregator,
  type DayAggregatorOptions,
  type DayClosedDetail,
  SUMMARY_ITEM_TYPES,
  summarizeDays,
  UNKNOWN_KEY,
} from "./day-aggregator";
export {
  type DayDuration,
  type DayInterval,
  dayIntervals,
  summarizeDurations,
} from "./day-durations";
export { type DayPlan, type DayPlanInput, planDays } from "./day-planner";
export {
  AggregatorFinishedError,
  InvalidDayError,
  InvalidDayRangeError,
  InvalidTimeZoneError,
  OutOfOrderHeartbeatError,
} from "./errors";
export { createLanguageResolver, entityExtension, type LanguageResolver } from "./extension";
export { compareHeartbeats } from "./heartbeat-order";
export { addDays, compareDays, daysBetween, isLocalDay } from "./local-day";
export { currentZoneRun, dueZoneRuns, nextZoneRuns, type ZoneRun } from "./nightly-schedule";
export {
  DEFAULT_TIMEOUT_MS,
  resolveTimeoutMs,
  resolveUserSettings,
  type StoredUserSettings,
} from "./settings";
export { localDayOf, resolveTimeZone, startOfLocalDay, yesterdayIn } from "./time-zone";
export {
  type AggregationMode,
  type DayRange,
  type DaySummary,
  type Heartbeat,
  type HeartbeatAttributes,
  type LanguageMapping,
  type LocalDay,
  type SummaryItem,
  SummaryItemType,
  type UserSettings,
} from "./types";
