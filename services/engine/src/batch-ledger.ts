import type { BatchState, BatchStatus, UserOutcome } from "@agg/machines";
import type { Database } from "@agg/store";
import { type Kysely, sql } from "kysely";
import type { BatchTriage, DecidedUser } from "./batch-triage";
import { Coalescer } from "./coalescer";

/** The `agg.status` object (the coordinator machine's status type). */
export type BatchCounts = BatchStatus;

/** An ended batch's row: its counts were frozen when it ended. */
function frozenCounts(row: {
  id: string;
  state: string;
  users: number | bigint;
  done: number | bigint;
  failed: number | bigint;
  skipped: number | bigint;
}): BatchCounts {
  return {
    batchId: row.id,
    state: row.state as BatchState,
    users: Number(row.users),
    done: Number(row.done),
    failed: Number(row.failed),
    skipped: Number(row.skipped),
  };
}

export interface NewBatch {
  readonly id: string;
  readonly mode: "missing" | "regenerate";
  readonly fromDay: string | null;
  readonly toDay: string | null;
  readonly request: unknown;
  readonly acceptedBy: string;
  /** Users with days to summarise: each gets a job. */
  readonly knownUsers: readonly string[];
  /** Users named in the request that do not exist: skipped at once. */
  readonly unknownUsers: readonly string[];
  /** Users whose outcome planning decided at acceptance (up to date, no heartbeats). */
  readonly decided?: Pick<BatchTriage, "decided" | "decidedCounts">;
}

const INSERT_CHUNK = 10_000;

/** One user's outcome as `recordOutcomes` sends it (short keys: it travels as one jsonb). */
interface OutcomeRow {
  readonly b: string;
  readonly u: string;
  readonly s: UserOutcome;
  readonly r: string | null;
  readonly i: string;
}

/**
 * The durable ledger of batches in PostgreSQL: the single source of truth for
 * `agg.status`, and what lets any instance continue a batch another one accepted.
 * Every transition is a guarded UPDATE, so duplicates and races change nothing.
 */
export class BatchLedger {
  /** Outcomes reported at the same time are recorded by one statement (group commit). */
  private readonly outcomes: Coalescer<OutcomeRow, boolean>;

  constructor(private readonly db: Kysely<Database>) {
    this.outcomes = new Coalescer((rows) => this.recordOutcomes(rows), { maxGroup: 256, maxInFlight: 2 });
  }

  /**
   * Records a new batch and its users, atomically: in one statement when the
   * batch is small enough to travel as one parameter (a nightly run's few
   * hundred users: one round trip instead of four), else in one transaction
   * of chunks.
   */
  async create(batch: NewBatch): Promise<void> {
    const now = new Date();
    const decided = batch.decided?.decided ?? [];
    const counts = batch.decided?.decidedCounts ?? { done: 0, failed: 0, skipped: 0 };
    const row = {
      id: batch.id,
      state: "running",
      mode: batch.mode,
      from_day: batch.fromDay,
      to_day: batch.toDay,
      request: JSON.stringify(batch.request),
      users: batch.knownUsers.length + batch.unknownUsers.length + decided.length,
      done: counts.done,
      failed: counts.failed,
      skipped: batch.unknownUsers.length + counts.skipped,
      accepted_by: batch.acceptedBy,
      created_at: now,
      updated_at: now,
    } as const;
    const groups = [
      { ids: batch.knownUsers, status: "pending", reason: null },
      { ids: batch.unknownUsers, status: "skipped", reason: "unknown user" },
      ...decidedGroups(decided),
    ].filter((g) => g.ids.length > 0);
    if (row.users <= INSERT_CHUNK) {
      // The users' rows reference the batch row inserted by the same statement:
      // PostgreSQL checks the foreign key at the end of the statement.
      await sql`
        with b as (${this.db.insertInto("agg_batches").values(row).returning("id")})
        insert into agg_batch_users (batch_id, user_id, status, reason, instance, updated_at)
        select b.id, u.id, g.status, g.reason, null, ${now}
        from b,
          jsonb_to_recordset(cast(${JSON.stringify(groups)} as jsonb)) as g(ids jsonb, status text, reason text),
          jsonb_array_elements_text(g.ids) as u(id)
      `.execute(this.db);
      return;
    }
    await this.db.transaction().execute(async (tx) => {
      await tx.insertInto("agg_batches").values(row).execute();
      // Chunk by chunk from the id lists, each chunk one jsonb parameter: a batch of
      // 100 k users never exists as 100 k row objects (nor 600 k bind parameters).
      for (const { ids, status, reason } of groups) {
        for (let i = 0; i < ids.length; i += INSERT_CHUNK) {
          await sql`
            insert into agg_batch_users (batch_id, user_id, status, reason, instance, updated_at)
            select ${batch.id}, u.id, ${status}, ${reason}, null, ${now}
            from jsonb_array_elements_text(cast(${JSON.stringify(ids.slice(i, i + INSERT_CHUNK))} as jsonb)) as u(id)
          `.execute(tx);
        }
      }
    });
  }

  /** Marks the batch's jobs as published to JetStream (so no sweeper republishes them). */
  async markDispatched(batchId: string): Promise<void> {
    await this.db
      .updateTable("agg_batches")
      .set({ dispatched_at: new Date() })
      .where("id", "=", batchId)
      .execute();
  }

  /**
   * Records how a user ended, once: a second report (JetStream redelivery, a
   * retried job) finds the row no longer pending and changes nothing.
   * @returns true when this call recorded the outcome.
   */
  recordOutcome(
    batchId: string,
    userId: string,
    outcome: UserOutcome,
    reason: string | null,
    instance: string,
  ): Promise<boolean> {
    return this.outcomes.submit({ b: batchId, u: userId, s: outcome, r: reason, i: instance });
  }

  /** `recordOutcome` for many users in one guarded UPDATE; each row learns whether it recorded. */
  private async recordOutcomes(rows: readonly OutcomeRow[]): Promise<boolean[]> {
    const { rows: updated } = await sql<{ batch_id: string; user_id: string }>`
      update agg_batch_users as b
      set status = o.s, reason = o.r, instance = o.i, updated_at = now()
      from jsonb_to_recordset(cast(${JSON.stringify(rows)} as jsonb)) as o(b text, u text, s text, r text, i text)
      where b.batch_id = o.b and b.user_id = o.u and b.status = 'pending'
      returning b.batch_id, b.user_id`.execute(this.db);
    const recorded = new Set(updated.map((r) => `${r.batch_id}\u0000${r.user_id}`));
    // A (batch, user) twice in one group (a redelivery racing its original) is recorded once,
    // with either row's values; the first row is the one told it recorded.
    return rows.map((row) => recorded.delete(`${row.b}\u0000${row.u}`));
  }

  /** The batch's current counts, or null when no such batch exists. */
  async status(batchId: string): Promise<BatchCounts | null> {
    const batch = await this.db
      .selectFrom("agg_batches")
      .select(["id", "state", "users", "done", "failed", "skipped"])
      .where("id", "=", batchId)
      .executeTakeFirst();
    if (!batch) return null;
    if (batch.state !== "running") return frozenCounts(batch);
    const counts = await countByStatus(this.db, batchId);
    return { batchId, state: "running", users: Number(batch.users), ...counts };
  }

  /** Users that have reported, with their outcome (to rebuild a coordinator). */
  async reported(batchId: string): Promise<{ userId: string; outcome: UserOutcome }[]> {
    const rows = await this.db
      .selectFrom("agg_batch_users")
      .select(["user_id", "status"])
      .where("batch_id", "=", batchId)
      .where("status", "<>", "pending")
      .execute();
    return rows.map((r) => ({ userId: r.user_id, outcome: r.status as UserOutcome }));
  }

  /** Which of `userIds` still have to report in the batch (a redelivered job message skips the rest). */
  async stillPending(batchId: string, userIds: readonly string[]): Promise<Set<string>> {
    if (userIds.length === 0) return new Set();
    const rows = await this.db
      .selectFrom("agg_batch_users")
      .select("user_id")
      .where("batch_id", "=", batchId)
      .where("user_id", "in", userIds)
      .where("status", "=", "pending")
      .execute();
    return new Set(rows.map((r) => r.user_id));
  }

  /** Users that still have to report. */
  async pending(batchId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom("agg_batch_users")
      .select("user_id")
      .where("batch_id", "=", batchId)
      .where("status", "=", "pending")
      .execute();
    return rows.map((r) => r.user_id);
  }

  /**
   * Ends a running batch: users still pending count as failed (`reason`), the
   * counts are frozen, the state set. Guarded on `state = 'running'`, so of all
   * the coordinators that might try (a restarted instance, a second owner) one wins.
   * @returns the final counts when this call ended the batch, else null.
   */
  async finish(
    batchId: string,
    state: Exclude<BatchState, "running">,
    reason: string,
  ): Promise<BatchCounts | null> {
    return this.db.transaction().execute(async (tx) => {
      const locked = await tx
        .selectFrom("agg_batches")
        .select(["users"])
        .where("id", "=", batchId)
        .where("state", "=", "running")
        .forUpdate()
        .executeTakeFirst();
      if (!locked) return null;
      await tx
        .updateTable("agg_batch_users")
        .set({ status: "failed", reason, updated_at: new Date() })
        .where("batch_id", "=", batchId)
        .where("status", "=", "pending")
        .execute();
      const counts = await countByStatus(tx, batchId);
      const finalState: BatchState =
        state === "cancelled" ? "cancelled" : counts.failed > 0 ? "failed" : "completed";
      await tx
        .updateTable("agg_batches")
        .set({ state: finalState, ...counts, finished_at: new Date(), updated_at: new Date() })
        .where("id", "=", batchId)
        .execute();
      return { batchId, state: finalState, users: Number(locked.users), ...counts };
    });
  }

  /** Notes that the final event went out, so a sweeper never sends it again. */
  async markFinalPublished(batchId: string): Promise<void> {
    await this.db
      .updateTable("agg_batches")
      .set({ final_published_at: new Date() })
      .where("id", "=", batchId)
      .execute();
  }

  /** The validated request a batch was accepted with. */
  async request(batchId: string): Promise<{ mode: "missing" | "regenerate"; from?: string; to?: string }> {
    const row = await this.db
      .selectFrom("agg_batches")
      .select(["mode", "from_day", "to_day"])
      .where("id", "=", batchId)
      .executeTakeFirstOrThrow();
    return {
      mode: row.mode === "regenerate" ? "regenerate" : "missing",
      ...(row.from_day ? { from: row.from_day } : {}),
      ...(row.to_day ? { to: row.to_day } : {}),
    };
  }

  /** How many batches are running in the whole cluster. */
  async runningCount(): Promise<number> {
    const row = await this.db
      .selectFrom("agg_batches")
      .select(sql<number>`count(*)::int`.as("n"))
      .where("state", "=", "running")
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Batches still running (to adopt after a restart). */
  async running(): Promise<{ id: string; createdAt: Date; dispatched: boolean }[]> {
    const rows = await this.db
      .selectFrom("agg_batches")
      .select(["id", "created_at", "dispatched_at"])
      .where("state", "=", "running")
      .orderBy("created_at")
      .execute();
    return rows.map((r) => ({
      id: r.id,
      createdAt: new Date(r.created_at),
      dispatched: r.dispatched_at !== null,
    }));
  }

  /** Batches that ended but whose final event may not have gone out (the publisher died in between). */
  async unpublishedFinals(): Promise<BatchCounts[]> {
    const rows = await this.db
      .selectFrom("agg_batches")
      .select(["id", "state", "users", "done", "failed", "skipped"])
      .where("state", "<>", "running")
      .where("final_published_at", "is", null)
      .execute();
    return rows.map(frozenCounts);
  }
}

/** Decided users grouped by (outcome, reason), each group one list of ids. */
function decidedGroups(decided: readonly DecidedUser[]): { ids: string[]; status: string; reason: string }[] {
  const groups = new Map<string, { ids: string[]; status: string; reason: string }>();
  for (const d of decided) {
    const key = `${d.outcome}\u0000${d.reason}`;
    let group = groups.get(key);
    if (!group) {
      group = { ids: [], status: d.outcome, reason: d.reason };
      groups.set(key, group);
    }
    group.ids.push(d.userId);
  }
  return [...groups.values()];
}

/** How many of the batch's users are done, failed and skipped, from their rows. */
async function countByStatus(db: Kysely<Database>, batchId: string) {
  const rows = await db
    .selectFrom("agg_batch_users")
    .select(["status", sql<number>`count(*)::int`.as("n")])
    .where("batch_id", "=", batchId)
    .groupBy("status")
    .execute();
  const counts = { done: 0, failed: 0, skipped: 0 };
  for (const r of rows) {
    if (r.status === "done" || r.status === "failed" || r.status === "skipped")
      counts[r.status] = Number(r.n);
  }
  return counts;
}
