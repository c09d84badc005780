import { type Kysely, sql } from "kysely";
import { InvalidInputError } from "../invalid-input-error";
import type { Database } from "../schema";

/*
 * Per-user leases in `agg_user_fences`, next to the fencing token.
 *
 * - Expiry is judged by PostgreSQL's `now()` only: every engine instance
 *   compares against that one clock, so skew between the instances' clocks
 *   never makes two of them think they hold the same lease.
 * - The lease decides who may start a tenure; the token guards the writes.
 *   Taking a lease raises the token, so a holder whose lease lapsed and was
 *   taken over is refused by its fence (`replaceDays`' `fence`, claimed in
 *   `agg_replace_user_days`) even if it has not noticed yet.
 * - One statement per call, whatever the number of users: an engine takes,
 *   renews and releases the leases of a whole group of users at once.
 * - Rows are locked in one order (user id, collation "C") by all three
 *   statements, so instances working on overlapping users wait for each other
 *   instead of deadlocking.
 */

/** A user's lease as its holder knows it: the tenure's fencing token. */
export interface HeldUserLease {
  readonly userId: string;
  readonly token: bigint;
}

/**
 * Takes the lease of every user in `userIds` that nobody holds (`lease_until`
 * null or before PostgreSQL's `now()`), in one statement. Each lease granted
 * starts a new tenure: the user's fencing token goes up by one (a user
 * without a row gets token 1), `holder` becomes the holder and the lease runs
 * until `now() + ttlMs`. Users whose lease is live (held by anyone, this
 * holder included) are left alone and absent from the result.
 *
 * Write under the lease with `{ fence: { token, holder } }`.
 *
 * @returns userId -> new token, for the users granted. Duplicates in
 *   `userIds` count once; empty input sends no query.
 * @throws {InvalidInputError} when `ttlMs` is not a positive integer.
 *
 * @example
 * ```ts
 * const granted = await acquireUserLeases(db, ["alice", "bob"], "engine-1", 30_000);
 * const token = granted.get("alice"); // undefined: someone else holds alice's lease
 * ```
 */
export async function acquireUserLeases(
  db: Kysely<Database>,
  userIds: readonly string[],
  holder: string,
  ttlMs: number,
): Promise<Map<string, bigint>> {
  checkTtl(ttlMs);
  const wanted = [...new Set(userIds)];
  if (wanted.length === 0) return new Map();
  // ON CONFLICT locks each existing row (granted or not) and judges the latest
  // committed lease, so two instances racing for a user cannot both win; the
  // loser's statement sees the winner's live lease and leaves the row alone.
  const { rows } = await sql<{ user_id: string; token: string }>`
    insert into agg_user_fences as f (user_id, token, holder, lease_until, updated_at)
    select u.id, 1, ${holder}, now() + ${ttl(ttlMs)}, now()
    from jsonb_array_elements_text(cast(${JSON.stringify(wanted)} as jsonb)) as u(id)
    order by u.id collate "C"
    on conflict (user_id) do update
      set token = f.token + 1, holder = excluded.holder, lease_until = excluded.lease_until,
          updated_at = excluded.updated_at
      where f.lease_until is null or f.lease_until < now()
    returning f.user_id, f.token::text as token`.execute(db);
  return new Map(rows.map((r) => [r.user_id, BigInt(r.token)]));
}

/**
 * Moves `lease_until` to `now() + ttlMs` for every lease still `holder`'s at
 * its token, in one statement.
 *
 * A lease that has expired but that nobody took since is renewed: its tenure
 * never ended (the token still matches, so no other writer was let in). A
 * released lease is not revived.
 *
 * @returns the user ids renewed; the others are lost (another tenure began,
 *   or the lease was released): stop writing for them.
 * @throws {InvalidInputError} when `ttlMs` is not a positive integer.
 */
export async function renewUserLeases(
  db: Kysely<Database>,
  leases: readonly HeldUserLease[],
  holder: string,
  ttlMs: number,
): Promise<Set<string>> {
  checkTtl(ttlMs);
  if (leases.length === 0) return new Set();
  const { rows } = await sql<{ user_id: string }>`
    with held as (${heldRows(leases, holder)})
    update agg_user_fences as f
      set lease_until = now() + ${ttl(ttlMs)}, updated_at = now()
    from held
    where f.user_id = held.user_id
    returning f.user_id`.execute(db);
  return new Set(rows.map((r) => r.user_id));
}

/**
 * Ends (`lease_until` = null) the leases still `holder`'s at their token, in
 * one statement, so another instance may take them at once instead of after
 * the TTL. Anything else (a stale token, another holder) is left alone. The
 * token stays: it only ever grows, and the next tenure raises it.
 */
export async function releaseUserLeases(
  db: Kysely<Database>,
  leases: readonly HeldUserLease[],
  holder: string,
): Promise<void> {
  if (leases.length === 0) return;
  await sql`
    with held as (${heldRows(leases, holder)})
    update agg_user_fences as f
      set lease_until = null, updated_at = now()
    from held
    where f.user_id = held.user_id`.execute(db);
}

/**
 * The rows of `leases` still held by `holder` at their token (not released),
 * locked in user-id order. The check runs under the lock, on the latest
 * committed row: a tenure begun concurrently makes the row drop out.
 */
function heldRows(leases: readonly HeldUserLease[], holder: string) {
  // Tokens travel as text and compare as int8: exact beyond 2^53.
  const wanted = leases.map((l) => ({ u: l.userId, t: String(l.token) }));
  return sql`
    select f.user_id
    from agg_user_fences as f
    join (select distinct u, t from jsonb_to_recordset(cast(${JSON.stringify(wanted)} as jsonb)) as l(u text, t int8)) as l
      on f.user_id = l.u and f.token = l.t
    where f.holder = ${holder} and f.lease_until is not null
    order by f.user_id collate "C"
    for update of f`;
}

function checkTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    throw new InvalidInputError(`lease ttlMs must be a positive integer, got ${ttlMs}`);
  }
}

/** `ttlMs` as an interval (PostgreSQL's clock adds it to `now()`). */
function ttl(ttlMs: number) {
  return sql`make_interval(secs => ${ttlMs / 1000})`;
}
