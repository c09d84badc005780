/**
 * @agg/store: the engine's PostgreSQL side. Wakapi's tables and the engine's
 * `agg_` tables (schema, migrations), the database connection (PostgreSQL or
 * embedded PGlite), and the repositories the engine reads and writes through.
 */

export { type WarmConnectionsOptions, warmConnections } from "./connection-warm-up";
export {
  type AggDatabase,
  type DatabaseKind,
  DEFAULT_PGLITE_DIR,
  type OpenDatabaseOptions,
  openDatabase,
} from "./database";
export { DatabaseUnavailableError } from "./database-unavailable-error";
export {
  type DatabaseAddress,
  describeDatabaseAddress,
  parseDatabaseUrl,
  redactDatabaseUrl,
} from "./database-url";
export { PGliteDialect, type PGliteDialectConfig } from "./dialect/pglite-dialect";
export { FencedOutError } from "./fenced-out-error";
export { InvalidInputError } from "./invalid-input-error";
export { HEARTBEATS_COVERING_INDEX, HEARTBEATS_OVERSIZED_INDEX } from "./migration/heartbeats-covering-index";
export {
  MIGRATION_LOCK_TABLE,
  MIGRATION_TABLE,
  type MigrationReport,
  migrateToLatest,
} from "./migration/migrate";
export { MigrationError } from "./migration/migration-error";
export { MIGRATIONS } from "./migration/migrations";
export {
  type DuplicateSummary,
  findDuplicateSummaries,
  SUMMARY_UNIQUE_INDEX,
} from "./migration/summary-uniqueness";
export {
  type DayDurationsRequest,
  loadDayDurations,
  loadUsersDayDurations,
} from "./repository/duration-repository";
export { claimFence, type Fence } from "./repository/fence-repository";
export {
  DEFAULT_HEARTBEAT_PAGE_SIZE,
  firstHeartbeatTime,
  streamHeartbeats,
} from "./repository/heartbeat-repository";
export {
  latestSummaryFrom,
  listSummaries,
  type ReplaceDaysOptions,
  replaceDay,
  replaceDays,
  replaceUsersDays,
  type StoredSummary,
  type UserDaysWrite,
  type UserDaysWritten,
  writeUsersDays,
} from "./repository/summary-repository";
export {
  acquireUserLeases,
  type HeldUserLease,
  releaseUserLeases,
  renewUserLeases,
} from "./repository/user-lease-repository";
export {
  findKnownUsers,
  listUserIds,
  loadUserSettings,
  loadUsersPlanInputs,
  type UserPlanInputs,
} from "./repository/user-repository";
export type {
  AggBatchesTable,
  AggBatchUsersTable,
  AggScheduleRunsTable,
  AggUserFencesTable,
  BatchState,
  BatchUserStatus,
  Database,
  HeartbeatsTable,
  Int8,
  Int8Id,
  LanguageMappingsTable,
  SummariesTable,
  SummaryItemsTable,
  Timestamp,
  UsersTable,
} from "./schema";
export { StoreError, type StoreErrorCode } from "./store-error";
export {
  readUserSummaryReport,
  type UserSummaryReport,
  type UserSummaryReportDay,
} from "./user-summary-report";
