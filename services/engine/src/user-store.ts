import type { DayDuration } from "@agg/core";
import {
  type Database,
  type DayDurationsRequest,
  loadUsersDayDurations,
  loadUsersPlanInputs,
  type UserDaysWrite,
  type UserDaysWritten,
  type UserPlanInputs,
  writeUsersDays,
} from "@agg/store";
import type { Kysely } from "kysely";
import { Coalescer } from "./coalescer";
import type { TriagedPlanInputs } from "./triaged-plan-inputs";

/**
 * Requests of at most this many days share a durations query: a group then
 * sorts a few thousand rows, while grouping months would sort (and spill) far more.
 */
const GROUPED_DURATION_DAYS = 3;

/** How the store calls of concurrent user actors are grouped. */
export interface UserStoreOptions {
  /** Users per statement at most. */
  readonly maxGroup: number;
  /** Groups of one kind running at once (each holds one pooled connection). */
  readonly maxInFlight: number;
}

/**
 * The store as the user actors of one instance use it: each actor asks for its
 * own user, and the calls that meet while others are running are answered
 * together (group commit, see `Coalescer`). A nightly run of many users with a
 * day each thus costs a few statements per group instead of several round
 * trips and commits per user, while a lone user is served at once.
 *
 * Grouping never merges users' fates: a fenced-out user's write fails alone,
 * and if a group's transaction fails as a whole (a deadlock on a lock-key
 * collision, a lost connection), each write is retried on its own.
 */
export class UserStore {
  private readonly plans: Coalescer<string, UserPlanInputs | null>;
  private readonly writes: Coalescer<UserDaysWrite, boolean>;
  private readonly shortDurations: Coalescer<DayDurationsRequest, DayDuration[]>;

  constructor(
    readonly db: Kysely<Database>,
    opts: UserStoreOptions,
    /** What batch triage read, used once per (batch, user) instead of reading again. */
    private readonly triaged?: TriagedPlanInputs,
  ) {
    this.plans = new Coalescer(async (userIds) => {
      const found = await loadUsersPlanInputs(db, userIds);
      return userIds.map((id) => found.get(id) ?? null);
    }, opts);
    this.writes = new Coalescer((writes) => writeGroup(db, writes), opts);
    this.shortDurations = new Coalescer((requests) => loadUsersDayDurations(db, requests), opts);
  }

  /**
   * The user's credited time per day and attributes (see `loadDayDurations`).
   * Requests of a few days (a nightly run) are grouped; a month is a query of its own.
   */
  dayDurations(request: DayDurationsRequest): Promise<DayDuration[]> {
    if (request.days.length <= GROUPED_DURATION_DAYS) return this.shortDurations.submit(request);
    return loadUsersDayDurations(this.db, [request]).then(([durations]) => durations!);
  }

  /**
   * The user's settings, first heartbeat and latest summary; null when the user
   * does not exist. For a job of `batchId`, what that batch's triage read, if
   * it is still kept (see `TriagedPlanInputs`), else grouped reads.
   */
  planInputs(userId: string, batchId?: string): Promise<UserPlanInputs | null> {
    const kept = this.keptPlanInputs(userId, batchId);
    return kept ? Promise.resolve(kept) : this.plans.submit(userId);
  }

  /** What `batchId`'s triage read for the user, if still kept (taken: once only); no I/O. */
  keptPlanInputs(userId: string, batchId?: string): UserPlanInputs | undefined {
    return batchId === undefined ? undefined : this.triaged?.take(batchId, userId, Date.now());
  }

  /**
   * Replaces the user's days (see `writeUsersDays`).
   * @returns whether the write recorded the job it `completes` (false when it asked none, or wrote nothing).
   * @throws {FencedOutError} when the write's fence was refused (nothing written).
   */
  async writeDays(write: UserDaysWrite): Promise<boolean> {
    if (write.days.length === 0) return false;
    return this.writes.submit(write);
  }
}

async function writeGroup(db: Kysely<Database>, writes: UserDaysWrite[]): Promise<(boolean | Error)[]> {
  const answer = (written: readonly UserDaysWritten[]) => written.map((w) => w.refused ?? w.completed);
  if (writes.length > 1) {
    try {
      return answer(await writeUsersDays(db, writes));
    } catch {
      // Fall through: each write on its own, so one write's problem (a malformed
      // write, a user twice in the group, a deadlock) stays its own.
    }
  }
  return Promise.all(
    writes.map((w) =>
      writeUsersDays(db, [w]).then(
        (r) => answer(r)[0]!,
        (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
      ),
    ),
  );
}
