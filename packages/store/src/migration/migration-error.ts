import { StoreError } from "../store-error";

/** A migration failed; the database is as it was before `migrateToLatest` (it runs in one transaction). */
export class MigrationError extends StoreError {
  /** The migration that failed, when known. */
  readonly migrationName: string | null;

  constructor(migrationName: string | null, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      "MIGRATION_FAILED",
      migrationName ? `migration ${migrationName} failed: ${reason}` : `migrations failed: ${reason}`,
      { cause },
    );
    this.migrationName = migrationName;
  }
}
