import type { UserOutcome } from "@agg/machines";
import { type Database, loadUsersPlanInputs, type UserPlanInputs } from "@agg/store";
import type { Kysely } from "kysely";
import { type PlanRequest, planFromInputs } from "./user-work";

/** Users planned per round at acceptance: bounded memory, whatever the batch size. */
const USERS_PER_ROUND = 5_000;
/**
 * A round's users are read by this many queries at once. Acceptance is serial
 * (no job exists before it ends) and, for a nightly run, its largest part was
 * this one query on one PostgreSQL core, the other idle: 20 to 25 ms of a
 * 400-user nightly run of 400 to 500 ms (BENCHMARKS.md, stop 17).
 */
const PARALLEL_QUERIES = 2;
/** Below this many users per query, one query is as quick as two. */
const MIN_USERS_PER_PARALLEL_QUERY = 100;

/** A user whose job would end at planning: decided at acceptance, without a job or an actor. */
export interface DecidedUser {
  readonly userId: string;
  readonly outcome: UserOutcome;
  /** The same reason the user actor gives for the same plan. */
  readonly reason: string;
}

/** The users of a new batch, split by whether they have days to summarise. */
export interface BatchTriage {
  /** Users with days to summarise: each gets a job. */
  readonly withWork: string[];
  /** Users up to date (done) or without heartbeats (skipped). */
  readonly decided: DecidedUser[];
  /** `decided`, counted by outcome. */
  readonly decidedCounts: Readonly<Record<UserOutcome, number>>;
}

/**
 * Plans every user of a new batch once, set-wise, with the same rules the user
 * actor applies to its job (`planFromInputs`): a nightly `missing` run over many
 * users, most of them already summarised through yesterday, then publishes
 * jobs only for the users with days to write. The others are recorded as the
 * actor would have recorded them (`done` "up-to-date", `skipped`
 * "no-heartbeats"), at a few milliseconds per thousand users instead of a job
 * each. A user with work is planned again by its actor when the job runs, so
 * nothing decided here can be stale in the unsafe direction: at worst a job
 * finds it has nothing left to do.
 *
 * `keep` is handed the inputs of each user with work, so that their job may
 * plan from them instead of reading them again (see `TriagedPlanInputs`).
 */
export async function triageBatchUsers(
  db: Kysely<Database>,
  userIds: readonly string[],
  request: PlanRequest,
  nowMs: number,
  keep?: (userId: string, inputs: UserPlanInputs) => void,
): Promise<BatchTriage> {
  const withWork: string[] = [];
  const decided: DecidedUser[] = [];
  const decidedCounts: Record<UserOutcome, number> = { done: 0, failed: 0, skipped: 0 };
  for (let i = 0; i < userIds.length; i += USERS_PER_ROUND) {
    const round = userIds.slice(i, i + USERS_PER_ROUND);
    const inputs = await loadPlanInputsInParallel(db, round);
    for (const userId of round) {
      const read = inputs.get(userId) ?? null;
      const plan = planFromInputs(read, request, nowMs);
      if (plan.kind === "days") {
        withWork.push(userId);
        if (read) keep?.(userId, read);
        continue;
      }
      const d: DecidedUser =
        plan.kind === "up-to-date"
          ? { userId, outcome: "done", reason: "up-to-date" }
          : { userId, outcome: "skipped", reason: "no-heartbeats" };
      decided.push(d);
      decidedCounts[d.outcome]++;
    }
  }
  return { withWork, decided, decidedCounts };
}

/** `loadUsersPlanInputs` of `userIds`, split over up to `PARALLEL_QUERIES` queries in flight at once. */
async function loadPlanInputsInParallel(
  db: Kysely<Database>,
  userIds: readonly string[],
): Promise<Map<string, UserPlanInputs>> {
  const parts = Math.max(
    1,
    Math.min(PARALLEL_QUERIES, Math.floor(userIds.length / MIN_USERS_PER_PARALLEL_QUERY)),
  );
  if (parts === 1) return loadUsersPlanInputs(db, userIds);
  const size = Math.ceil(userIds.length / parts);
  const maps = await Promise.all(
    Array.from({ length: parts }, (_, i) => loadUsersPlanInputs(db, userIds.slice(i * size, (i + 1) * size))),
  );
  const all = new Map<string, UserPlanInputs>();
  for (const m of maps) for (const [userId, inputs] of m) all.set(userId, inputs);
  return all;
}
