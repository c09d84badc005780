import { type Kysely, sql } from "kysely";
import { FencedOutError } from "../fenced-out-error";
import { InvalidInputError } from "../invalid-input-error";
import type { Database } from "../schema";
import { callReplaceUserDays } from "./replace-user-days-call";

/** A fencing token and who holds it: proof of the lease a writer acts under. */
export interface Fence {
  /** Grows with every new lease of the user; compared as a PostgreSQL bigint. */
  readonly token: bigint | number;
  /** Who holds the lease (an instance or actor id), for messages and for equal tokens. */
  readonly holder: string;
}

/**
 * Records that `holder` writes `userId`'s summaries under `token`, or refuses.
 * Accepted when no token is stored, the stored one is smaller, or it is the
 * same token from the same holder (a retry). Refused otherwise: a newer lease
 * exists, so this writer must stop. It is the fence step of
 * `agg_replace_user_days` (the user's summaries lock, then the claim) with
 * nothing to write; inside a transaction the claim commits or rolls back
 * with it.
 *
 * @throws {FencedOutError} (code `LEASE_LOST`) when refused.
 *
 * @example
 * ```ts
 * await claimFence(db, "alice", 42n, "engine-1/user:alice");
 * ```
 */
export async function claimFence(
  db: Kysely<Database>,
  userId: string,
  token: bigint | number,
  holder: string,
): Promise<void> {
  const claim: FenceClaim = { u: userId, t: fenceTokenText(token), h: holder };
  const { refused } = await callReplaceUserDays(db, {
    lockUsers: [userId],
    claims: [claim],
    ranges: [],
    daysJson: "[]",
    completions: [],
  });
  const [error] = (await describeRefusals(db, refused.has(userId) ? [claim] : [])).values();
  if (error) throw error;
}

/** A fence claim as the claiming statements take it: user, token as text, holder. @internal */
export interface FenceClaim {
  readonly u: string;
  readonly t: string;
  readonly h: string;
}

/**
 * The `FencedOutError` of each refused claim, naming the token that refused
 * it (one query, only when something was refused).
 * @internal
 */
export async function describeRefusals(
  db: Kysely<Database>,
  refused: readonly FenceClaim[],
): Promise<Map<string, FencedOutError>> {
  if (refused.length === 0) return new Map();
  const current = await db
    .selectFrom("agg_user_fences")
    .select(["user_id", sql<string>`token::text`.as("token"), "holder"])
    .where(
      "user_id",
      "in",
      refused.map((c) => c.u),
    )
    .execute();
  const byUser = new Map(current.map((r) => [r.user_id, { token: r.token, holder: r.holder }]));
  return new Map(refused.map((c) => [c.u, new FencedOutError(c.u, c.t, byUser.get(c.u) ?? null)]));
}

/** A token as text, exact beyond 2^53 (PostgreSQL compares it as int8). @internal */
export function fenceTokenText(token: bigint | number): string {
  if (typeof token === "number" && !Number.isSafeInteger(token)) {
    throw new InvalidInputError(`fencing token must be an integer, got ${token}`);
  }
  return String(token);
}
