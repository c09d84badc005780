import type { UserPlanInputs } from "@agg/store";

/** Bounds of {@link TriagedPlanInputs}. */
export interface TriagedPlanInputsOptions {
  /** Entries kept at most; past it the oldest go first (memory bounded, whatever the batch). */
  readonly maxEntries: number;
  /** An entry older than this is not used (its job then plans from the database). */
  readonly maxAgeMs: number;
}

interface Entry {
  readonly inputs: UserPlanInputs;
  readonly atMs: number;
}

/**
 * What batch triage read for each user with work (settings, first heartbeat,
 * latest summary), kept for the first job of that user in that batch on this
 * instance, so the job plans without reading the same rows again: one
 * statement and one stage less per group of users in a nightly run.
 *
 * Why a plan from these inputs is safe although they were read before the
 * user's lease was taken: writers (this engine's instances) only add or
 * replace days, so the latest summary read at triage can only be older than
 * the current one, and a plan from it covers the same days or more (`missing`
 * recomputes a day written meanwhile; a day is replaced as a whole, so the
 * result is the same). The other inputs, and summaries deleted from outside
 * (Wakapi's "regenerate"), change only by a user's or an operator's action,
 * which races with a batch the same way whichever read the batch used.
 * Entries are used once, and only while young (`maxAgeMs`): a job that
 * waited longer plans from the database, as do jobs redelivered or run on
 * another instance.
 *
 * @example
 * ```ts
 * const triaged = new TriagedPlanInputs({ maxEntries: 20_000, maxAgeMs: 30_000 });
 * triaged.keep(batchId, "alice", inputs, Date.now());
 * triaged.take(batchId, "alice", Date.now()); // inputs, then undefined
 * ```
 */
export class TriagedPlanInputs {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly opts: TriagedPlanInputsOptions) {}

  /** Entries held (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  keep(batchId: string, userId: string, inputs: UserPlanInputs, atMs: number): void {
    const key = keyOf(batchId, userId);
    this.entries.delete(key);
    this.entries.set(key, { inputs, atMs });
    // A Map iterates in insertion order: the first entries are the oldest.
    for (const [oldest, entry] of this.entries) {
      if (this.entries.size <= this.opts.maxEntries && atMs - entry.atMs <= this.opts.maxAgeMs) break;
      this.entries.delete(oldest);
    }
  }

  /** The inputs kept for the user in this batch, once, if still young enough. */
  take(batchId: string, userId: string, nowMs: number): UserPlanInputs | undefined {
    const key = keyOf(batchId, userId);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    return nowMs - entry.atMs <= this.opts.maxAgeMs ? entry.inputs : undefined;
  }
}

function keyOf(batchId: string, userId: string): string {
  // Batch ids carry no newline (they are generated); user ids may hold anything else.
  return `${batchId}\n${userId}`;
}
