import { sql } from "kysely";
import { lockKey } from "../repository/advisory-lock";
import { type AnyKysely, hasIndexLeadingWith, indexExists, mayCreateIndexOn } from "./introspection";

/** The unique index that makes "one summary per (user, from_time)" a database rule. */
export const SUMMARY_UNIQUE_INDEX = "agg_summaries_user_from_uq";
/** Stand-in range index while duplicates prevent the unique one. @internal */
export const SUMMARY_FALLBACK_INDEX = "agg_summaries_user_from_idx";
/** At most this many duplicate groups are listed. @internal */
export const DUPLICATES_LISTED = 1000;

/** A (user, from_time) that holds more than one summary. */
export interface DuplicateSummary {
  readonly userId: string;
  /** Epoch ms. */
  readonly fromTime: number;
  /** Rows with this (user, from_time). */
  readonly count: number;
}

/** What `ensureSummaryUniqueness` found. @internal */
export interface SummaryUniqueness {
  readonly duplicateSummaries: DuplicateSummary[];
  readonly warnings: string[];
}

/**
 * Creates `agg_summaries_user_from_uq` unless it (or an equivalent unique
 * index) exists. A Wakapi database may already hold duplicate summaries; then
 * the index is not created, the duplicates are returned, and a plain range
 * index stands in if no index serves `(user_id, from_time)`. Runs after every
 * migration run, so the unique index appears once the duplicates are gone
 * (a `regenerate` of those days replaces them with one row).
 * @internal
 */
export async function ensureSummaryUniqueness(db: AnyKysely): Promise<SummaryUniqueness> {
  if (await hasIndexLeadingWith(db, "summaries", ["user_id", "from_time"], { unique: true })) {
    return { duplicateSummaries: [], warnings: [] };
  }
  if (!(await mayCreateIndexOn(db, "summaries"))) {
    // An engine running under a granted role (`pnpm agg grants`): index DDL is the
    // owner's job, so report instead of failing the start.
    const duplicateSummaries = await findDuplicateSummaries(db);
    return {
      duplicateSummaries,
      warnings: [
        `${SUMMARY_UNIQUE_INDEX} is missing and this database role does not own summaries: ` +
          "run `pnpm agg migrate` as the owner to create it",
      ],
    };
  }
  return db.transaction().execute(async (trx) => {
    // Two instances starting together: one creates the index, the other waits and sees it.
    await sql`select pg_advisory_xact_lock(${lockKey.namespace}, ${lockKey.summaryIndex})`.execute(trx);
    if (await indexExists(trx, SUMMARY_UNIQUE_INDEX)) return { duplicateSummaries: [], warnings: [] };
    const duplicateSummaries = await findDuplicateSummaries(trx);
    if (duplicateSummaries.length === 0) {
      await sql`create unique index if not exists ${sql.id(SUMMARY_UNIQUE_INDEX)} on summaries (user_id, from_time)`.execute(
        trx,
      );
      await sql`drop index if exists ${sql.id(SUMMARY_FALLBACK_INDEX)}`.execute(trx);
      return { duplicateSummaries, warnings: [] };
    }
    const warnings = [
      `summaries holds ${duplicateSummaries.length >= DUPLICATES_LISTED ? `at least ${DUPLICATES_LISTED}` : duplicateSummaries.length} (user, from_time) pairs with more than one row; ` +
        `${SUMMARY_UNIQUE_INDEX} was not created (a regenerate of those days leaves one row each; the next migrate then creates it)`,
    ];
    if (!(await hasIndexLeadingWith(trx, "summaries", ["user_id", "from_time"]))) {
      await sql`create index if not exists ${sql.id(SUMMARY_FALLBACK_INDEX)} on summaries (user_id, from_time)`.execute(
        trx,
      );
    }
    return { duplicateSummaries, warnings };
  });
}

/** The (user, from_time) pairs with more than one summary, first `DUPLICATES_LISTED` by user and time. */
export async function findDuplicateSummaries(db: AnyKysely): Promise<DuplicateSummary[]> {
  const { rows } = await sql<{ user_id: string; from_time: Date; n: number }>`
    select user_id, from_time, count(*)::int as n from summaries
    group by user_id, from_time having count(*) > 1
    order by user_id, from_time limit ${DUPLICATES_LISTED}`.execute(db);
  return rows.map((r) => ({ userId: r.user_id, fromTime: r.from_time.getTime(), count: r.n }));
}
