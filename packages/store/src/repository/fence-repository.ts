import { type Kysely, sql } from "kysely";
import { FencedOutError } from "../fenced-out-error";
import { InvalidInputError } from "../invalid-input-error";
import type { Database } from "../schema";
import { lockKey } from "./advisory-lock";

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
  const [refused] = await claimFences(db, [{ userId, token, holder }], []);
  if (refused) throw refused;
}

/** A fence to claim for one user. @internal */
export interface UserFence extends Fence {
  readonly userId: string;
}

/**
 * Takes the summaries lock of every user in `lockUserIds` (in the order
 * given: callers sort, so concurrent lockers never wait in a cycle), then
 * claims every fence, in ONE statement. Returns the refusals; the claims that
 * were accepted commit or roll back with the caller's transaction.
 * @internal
 */
export async function claimFences(
  db: Kysely<Database>,
  fences: readonly UserFence[],
  lockUserIds: readonly string[],
): Promise<FencedOutError[]> {
  if (fences.length === 0 && lockUserIds.length === 0) return [];
  const claims: FenceClaim[] = fences.map((f) => ({ u: f.userId, t: fenceTokenText(f.token), h: f.holder }));
  // The locks come first (the insert reads from them); ON CONFLICT then judges the
  // latest committed token, not the statement's snapshot, so the check is current.
  const { rows } = await sql<{ user_id: string }>`
    with lock as (
      select count(pg_advisory_xact_lock(${lockKey.userSummaries}, hashtext(u.id))) as taken
      from jsonb_array_elements_text(cast(${JSON.stringify(lockUserIds)} as jsonb)) as u(id)
    )
    insert into agg_user_fences as f (user_id, token, holder, updated_at)
    select c.u, c.t, c.h, now()
    from jsonb_to_recordset(cast(${JSON.stringify(claims)} as jsonb)) as c(u text, t int8, h text), lock
    on conflict (user_id) do update
      set token = excluded.token, holder = excluded.holder, updated_at = excluded.updated_at
      where f.token < excluded.token or (f.token = excluded.token and f.holder = excluded.holder)
    returning f.user_id`.execute(db);
  const claimed = new Set(rows.map((r) => r.user_id));
  return [
    ...(
      await describeRefusals(
        db,
        claims.filter((c) => !claimed.has(c.u)),
      )
    ).values(),
  ];
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
