import { type Kysely, sql } from "kysely";
import { FencedOutError } from "../fenced-out-error";
import { InvalidInputError } from "../invalid-input-error";
import type { Database } from "../schema";

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
 * exists, so this writer must stop.
 *
 * Inside a transaction (as `replaceDays` uses it) the claim commits or rolls
 * back with the writes it guards.
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
  const text = tokenText(token);
  const claimed = await sql<{ token: string }>`
    insert into agg_user_fences as f (user_id, token, holder, updated_at)
    values (${userId}, cast(${text} as bigint), ${holder}, now())
    on conflict (user_id) do update
      set token = excluded.token, holder = excluded.holder, updated_at = excluded.updated_at
      where f.token < excluded.token or (f.token = excluded.token and f.holder = excluded.holder)
    returning token::text as token`.execute(db);
  if (claimed.rows.length > 0) return;
  const current = await db
    .selectFrom("agg_user_fences")
    .select([sql<string>`token::text`.as("token"), "holder"])
    .where("user_id", "=", userId)
    .executeTakeFirst();
  throw new FencedOutError(userId, text, current ?? null);
}

function tokenText(token: bigint | number): string {
  if (typeof token === "number" && !Number.isSafeInteger(token)) {
    throw new InvalidInputError(`fencing token must be an integer, got ${token}`);
  }
  return String(token);
}
