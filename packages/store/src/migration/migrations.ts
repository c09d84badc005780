import { type Migration, type MigrationProvider, sql } from "kysely";
import { type AnyKysely, hasIndexLeadingWith } from "./introspection";
import { createReplaceUserDaysFunction } from "./replace-user-days-function";
import { ensureWakapiTable, WAKAPI_TABLES } from "./wakapi-tables";

/**
 * The engine's migrations, in code (no directory scan, so a bundled build
 * carries them). Each one only creates what is missing, so it runs on an empty
 * database and on an existing Wakapi database alike. Never edit a migration
 * that has shipped: add a new one.
 */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  "0001_wakapi_core_tables": {
    async up(db: AnyKysely) {
      for (const table of WAKAPI_TABLES) await ensureWakapiTable(db, table);
    },
  },

  "0002_agg_tables": {
    async up(db: AnyKysely) {
      await db.schema
        .createTable("agg_batches")
        .ifNotExists()
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("state", "text", (c) =>
          c.notNull().check(sql`state in ('running', 'completed', 'failed', 'cancelled')`),
        )
        .addColumn("mode", "text", (c) => c.notNull())
        .addColumn("from_day", "text")
        .addColumn("to_day", "text")
        .addColumn("request", "jsonb", (c) => c.notNull())
        .addColumn("users", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("done", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("failed", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("skipped", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("accepted_by", "text", (c) => c.notNull())
        .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn("dispatched_at", "timestamptz")
        .addColumn("finished_at", "timestamptz")
        .addColumn("final_published_at", "timestamptz")
        .execute();
      // Finding running batches (to adopt after a restart) and unpublished finals is a scan of a few rows.
      await db.schema
        .createIndex("agg_batches_state_idx")
        .ifNotExists()
        .on("agg_batches")
        .columns(["state", "created_at"])
        .execute();

      await db.schema
        .createTable("agg_batch_users")
        .ifNotExists()
        .addColumn("batch_id", "text", (c) => c.notNull().references("agg_batches.id").onDelete("cascade"))
        // No reference to users: a batch also records the unknown users it skipped.
        .addColumn("user_id", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) =>
          c.notNull().defaultTo("pending").check(sql`status in ('pending', 'done', 'failed', 'skipped')`),
        )
        .addColumn("reason", "text")
        .addColumn("instance", "text")
        .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint("agg_batch_users_pk", ["batch_id", "user_id"])
        .execute();
      await db.schema
        .createIndex("agg_batch_users_batch_status_idx")
        .ifNotExists()
        .on("agg_batch_users")
        .columns(["batch_id", "status"])
        .execute();

      await db.schema
        .createTable("agg_user_fences")
        .ifNotExists()
        .addColumn("user_id", "text", (c) => c.primaryKey())
        .addColumn("token", "bigint", (c) => c.notNull())
        .addColumn("holder", "text", (c) => c.notNull())
        .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
    },
  },

  "0003_agg_read_indexes": {
    async up(db: AnyKysely) {
      // Keyset pages of a user's heartbeats: `user_id = ? and (time, id) > (?, ?)
      // order by time, id` is a pure range scan only with `id` in the index
      // (Wakapi's idx_time_user stops at time).
      if (!(await hasIndexLeadingWith(db, "heartbeats", ["user_id", "time", "id"]))) {
        await db.schema
          .createIndex("agg_heartbeats_user_time_id_idx")
          .ifNotExists()
          .on("heartbeats")
          .columns(["user_id", "time", "id"])
          .execute();
      }
      // Deleting a day's items (explicitly, and through the cascade) looks items up by summary.
      if (!(await hasIndexLeadingWith(db, "summary_items", ["summary_id"]))) {
        await db.schema
          .createIndex("agg_summary_items_summary_id_idx")
          .ifNotExists()
          .on("summary_items")
          .column("summary_id")
          .execute();
      }
      // summaries(user_id, from_time) is covered by Wakapi's idx_time_summary_user or by
      // agg_summaries_user_from_uq, which `ensureSummaryUniqueness` adds after every run.
    },
  },

  "0004_agg_schedule_runs": {
    async up(db: AnyKysely) {
      // One row per (zone, local day) the nightly schedule has run: the primary
      // key makes "run once per zone and day" hold even if two leaders overlap.
      await db.schema
        .createTable("agg_schedule_runs")
        .ifNotExists()
        .addColumn("time_zone", "text", (c) => c.notNull())
        .addColumn("day", "text", (c) => c.notNull())
        .addColumn("batch_id", "text")
        .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint("agg_schedule_runs_pk", ["time_zone", "day"])
        .execute();
    },
  },

  "0005_agg_user_leases": {
    async up(db: AnyKysely) {
      // Per-user leases live next to the fencing token they hand out: taking a
      // lease and starting its tenure (token + 1) is one row update, for many
      // users in one statement (`acquireUserLeases`). Nullable, no default:
      // existing fence rows read as "nobody holds the lease".
      await sql`alter table agg_user_fences add column if not exists lease_until timestamptz`.execute(db);
    },
  },

  "0006_agg_replace_user_days_function": {
    async up(db: AnyKysely) {
      // A group of users' day writes in one round trip (see the function's module;
      // it always creates the latest version, which 0007 brings to older databases).
      await createReplaceUserDaysFunction(db);
    },
  },

  "0007_agg_replace_user_days_indexed_deletes": {
    async up(db: AnyKysely) {
      // The same function, its deletes now index range scans (a database that
      // ran 0006 before holds the version whose deletes scanned whole tables).
      await createReplaceUserDaysFunction(db);
    },
  },
};

/** The migrations as Kysely's `Migrator` wants them. @internal */
export const migrationProvider: MigrationProvider = {
  getMigrations: async () => MIGRATIONS,
};
