/**
 * The data the aggregation rules work on. Plain, immutable-by-convention values:
 * no I/O types (no Date objects from drivers, no NATS messages) ever appear here.
 */

/** A calendar day in some time zone, as `YYYY-MM-DD`. */
export type LocalDay = string;

/** Wakapi's summary item type codes (models.SummaryProject etc.). */
export const SummaryItemType = {
  project: 0,
  language: 1,
  editor: 2,
  operatingSystem: 3,
  machine: 4,
  category: 8,
} as const;
/** One of Wakapi's summary item type codes: 0, 1, 2, 3, 4 or 8. */
export type SummaryItemType = (typeof SummaryItemType)[keyof typeof SummaryItemType];

/** The attributes a heartbeat is summarised by (besides its entity). Null/empty become `unknown`. */
export interface HeartbeatAttributes {
  readonly project: string | null;
  readonly language: string | null;
  readonly editor: string | null;
  readonly operatingSystem: string | null;
  readonly machine: string | null;
  readonly category: string | null;
}

/** One editor ping, as the core needs it. Strings may be null/empty (they become `unknown`). */
export interface Heartbeat extends HeartbeatAttributes {
  /** Row id; ties on `time` are ordered by it. */
  readonly id: number;
  /** Epoch milliseconds. */
  readonly time: number;
  readonly entity: string | null;
}

/** A per-user `extension -> language` override (Wakapi's `language_mappings`). */
export interface LanguageMapping {
  readonly extension: string;
  readonly language: string;
}

/** Everything about a user that changes how their heartbeats are credited. */
export interface UserSettings {
  readonly userId: string;
  /** A valid IANA zone name (already resolved: unknown/empty became `UTC`). */
  readonly timeZone: string;
  /** Timeout in milliseconds (already resolved: NULL/<=0 became 600 000). */
  readonly timeoutMs: number;
  readonly excludeUnknownProjects: boolean;
  readonly languageMappings: readonly LanguageMapping[];
}

/** One `summary_items` row. `total` is whole seconds (floored per key). */
export interface SummaryItem {
  readonly type: SummaryItemType;
  readonly key: string;
  readonly total: number;
}

/** One finished day: a `summaries` row and its items. */
export interface DaySummary {
  readonly userId: string;
  readonly day: LocalDay;
  /** Epoch ms of the day's first local instant (local midnight). */
  readonly fromTime: number;
  /** Epoch ms of the next day's first local instant. */
  readonly toTime: number;
  readonly numHeartbeats: number;
  readonly items: readonly SummaryItem[];
}

/** An inclusive range of local days to summarise. */
export interface DayRange {
  readonly from: LocalDay;
  readonly to: LocalDay;
}

/**
 * How a request picks days: `missing` continues after the latest summary (the
 * nightly run); `regenerate` recomputes the requested range from scratch.
 */
export type AggregationMode = "missing" | "regenerate";
