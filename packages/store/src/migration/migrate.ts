import { Migrator } from "kysely";
import { ensureHeartbeatsCoveringIndex } from "./heartbeats-covering-index";
import type { AnyKysely } from "./introspection";
import { MigrationError } from "./migration-error";
import { migrationProvider } from "./migrations";
import { type DuplicateSummary, ensureSummaryUniqueness } from "./summary-uniqueness";

/** Kysely's bookkeeping tables, prefixed like every table the engine owns. */
export const MIGRATION_TABLE = "agg_migrations";
export const MIGRATION_LOCK_TABLE = "agg_migrations_lock";

/** What a migration run did and found. */
export interface MigrationReport {
  /** Names of the migrations applied by this run (empty: already up to date). */
  readonly applied: string[];
  /** Pairs that hold more than one summary: they keep the unique index from being created. */
  readonly duplicateSummaries: DuplicateSummary[];
  /** Things an operator should know (one line each). */
  readonly warnings: string[];
}

/**
 * Brings the database to the latest schema: Wakapi's core tables where missing
 * (existing ones only gain missing columns), the `agg_` tables and indexes.
 * Safe on an existing Wakapi database, on an empty one, concurrently from
 * several instances (Kysely's migration lock), and twice in a row (a no-op).
 * Duplicate summaries in an existing database do not fail it: they are reported.
 *
 * @throws {MigrationError} when a migration fails (all of this run's migrations are rolled back).
 *
 * @example
 * ```ts
 * const { applied, duplicateSummaries } = await migrateToLatest(store.db);
 * ```
 */
export async function migrateToLatest(db: AnyKysely): Promise<MigrationReport> {
  const migrator = new Migrator({
    db,
    provider: migrationProvider,
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error) {
    const failed = results.find((r) => r.status === "Error");
    throw new MigrationError(failed?.migrationName ?? null, error);
  }
  const applied = results.filter((r) => r.status === "Success").map((r) => r.migrationName);
  const { duplicateSummaries, warnings } = await ensureSummaryUniqueness(db);
  const indexWarnings = await ensureHeartbeatsCoveringIndex(db);
  return { applied, duplicateSummaries, warnings: [...warnings, ...indexWarnings] };
}
