import type { ColumnType } from "kysely";

/**
 * The Kysely view of the database: Wakapi's core tables (only the columns the
 * engine reads or writes; Wakapi's other columns are left alone) and the
 * engine's own `agg_` tables.
 *
 * Drivers hand back `timestamptz` as `Date` and `bigint` as a JS number when it
 * is a safe integer (see `parseInt8`); repositories convert to epoch ms at
 * their edge, so no `Date` leaves this package.
 */
export interface Database {
  users: UsersTable;
  heartbeats: HeartbeatsTable;
  language_mappings: LanguageMappingsTable;
  summaries: SummariesTable;
  summary_items: SummaryItemsTable;
  agg_batches: AggBatchesTable;
  agg_batch_users: AggBatchUsersTable;
  agg_user_fences: AggUserFencesTable;
  agg_schedule_runs: AggScheduleRunsTable;
}

/** A `timestamptz` column: read as `Date`, written as `Date` or an ISO string. */
export type Timestamp = ColumnType<Date, Date | string, Date | string>;

/** A `bigint` column: read as a number (a `bigint` beyond 2^53), written as either or a decimal string. */
export type Int8 = ColumnType<number | bigint, number | bigint | string, number | bigint | string>;

/** A `bigserial` primary key: generated on insert. */
export type Int8Id = ColumnType<number, number | undefined, never>;

/** Wakapi's `users` (the columns that change aggregation). */
export interface UsersTable {
  id: string;
  location: string | null;
  heartbeats_timeout_sec: ColumnType<number | null, number | null | undefined, number | null>;
  exclude_unknown_projects: ColumnType<boolean | null, boolean | null | undefined, boolean | null>;
}

/** The heartbeat columns a summary is keyed by (besides the entity), as queries return them. */
export type HeartbeatAttributeColumns = Readonly<
  Pick<HeartbeatsTable, "project" | "language" | "editor" | "operating_system" | "machine" | "category">
>;

/** Wakapi's `heartbeats`: one row per editor ping. */
export interface HeartbeatsTable {
  id: Int8Id;
  user_id: string;
  entity: string;
  type: string | null;
  category: string | null;
  project: string | null;
  branch: string | null;
  language: string | null;
  is_write: boolean | null;
  editor: string | null;
  operating_system: string | null;
  machine: string | null;
  ai_model: string | null;
  user_agent: string | null;
  time: Timestamp;
  hash: string | null;
  origin: string | null;
  origin_id: string | null;
  created_at: Timestamp;
}

/** Wakapi's per-user `extension -> language` overrides. */
export interface LanguageMappingsTable {
  id: Int8Id;
  user_id: string;
  extension: string | null;
  language: string | null;
}

/** Wakapi's `summaries`: one row per (user, local day) once aggregated. */
export interface SummariesTable {
  id: Int8Id;
  user_id: string;
  from_time: Timestamp;
  to_time: Timestamp;
  num_heartbeats: ColumnType<number | null, number | null, number | null>;
}

/** Wakapi's `summary_items`: per (summary, type, key) whole seconds. */
export interface SummaryItemsTable {
  id: Int8Id;
  summary_id: number | null;
  type: number | null;
  key: string | null;
  total: ColumnType<number | null, number | null, number | null>;
}

/** Lifecycle of a batch (`agg.status` `state`). */
export type BatchState = "running" | "completed" | "failed" | "cancelled";

/** How far one user of a batch got. */
export type BatchUserStatus = "pending" | "done" | "failed" | "skipped";

/**
 * `agg_batches`: one row per accepted request, the durable source of `agg.status`.
 * `state` reads as the union; writes take a string so callers need no casts (a
 * CHECK constraint keeps the values honest).
 */
export interface AggBatchesTable {
  id: string;
  state: ColumnType<BatchState, string, string>;
  mode: string;
  from_day: string | null;
  to_day: string | null;
  /** The request as accepted; write it as a JSON string (`JSON.stringify`), it reads back parsed. */
  request: ColumnType<unknown, string, string>;
  users: ColumnType<number, number | undefined, number>;
  done: ColumnType<number, number | undefined, number>;
  failed: ColumnType<number, number | undefined, number>;
  skipped: ColumnType<number, number | undefined, number>;
  accepted_by: string;
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  /** When the batch's user jobs were handed to the work queue (null: not yet). */
  dispatched_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  finished_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  final_published_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

/** `agg_batch_users`: one row per (batch, user) with the user's outcome. */
export interface AggBatchUsersTable {
  batch_id: string;
  user_id: string;
  status: ColumnType<BatchUserStatus, string | undefined, string>;
  reason: string | null;
  instance: string | null;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/**
 * `agg_user_fences`: the highest fencing token that wrote a user's summaries,
 * and the user's lease. A writer holding an older token is refused
 * (`FencedOutError`). `lease_until` is when the current lease ends, on
 * PostgreSQL's clock; null when nobody holds it (released, or never taken
 * here). Taking a lease (`acquireUserLeases`) raises `token` and sets `holder`.
 */
export interface AggUserFencesTable {
  user_id: string;
  token: Int8;
  holder: string;
  /** End of the current lease (null: not held); compared with PostgreSQL's `now()` only. */
  lease_until: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** The nightly schedule's record of which (zone, local day) runs happened, and their batch. */
export interface AggScheduleRunsTable {
  time_zone: string;
  day: string;
  batch_id: string | null;
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
}
