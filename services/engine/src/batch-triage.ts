import type { UserOutcome } from "@agg/machines";
import { type Database, loadUsersPlanInputs, type UserPlanInputs } from "@agg/store";
import type { Kysely } from "kysely";
import { type PlanRequest, planFromInputs } from "./user-work";

/** Users planned per query at acceptance: bounded memory, whatever the batch size. */
const USERS_PER_QUERY = 5_000;

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
  for (let i = 0; i < userIds.length; i += USERS_PER_QUERY) {
    const chunk = userIds.slice(i, i + USERS_PER_QUERY);
    const inputs = await loadUsersPlanInputs(db, chunk);
    for (const userId of chunk) {
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
