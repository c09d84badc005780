import { type Kysely, sql } from "kysely";
import type { Database } from "../schema";
import { lockKey } from "./advisory-lock";
import type { FenceClaim } from "./fence-repository";

/** What one call of `agg_replace_user_days` takes (see its migration module for the semantics). */
export interface ReplaceUserDaysArgs {
  /** Users whose summaries lock to take, in order (callers sort). */
  readonly lockUsers: readonly string[];
  /** Fences to claim. */
  readonly claims: readonly FenceClaim[];
  /** `[from, to)` ranges of summaries to delete, epoch ms. */
  readonly ranges: readonly { readonly u: string; readonly from: number; readonly to: number }[];
  /** The days to insert, as `jsonb` text (`[{u, f, t, n, i}]`). */
  readonly daysJson: string;
  /** Jobs the write completes: batch, user, instance. */
  readonly completions: readonly { readonly b: string; readonly u: string; readonly i: string }[];
}

/**
 * One call of `agg_replace_user_days`, the one place its arguments are
 * encoded and its answer read. @internal
 * @returns the users whose fence was refused, and those whose job was completed.
 */
export async function callReplaceUserDays(
  db: Kysely<Database>,
  args: ReplaceUserDaysArgs,
): Promise<{ refused: Set<string>; completed: Set<string> }> {
  const { rows } = await sql<{ out_user_id: string; out_what: "refused" | "completed" }>`
    select out_user_id, out_what from agg_replace_user_days(
      cast(${lockKey.userSummaries} as int4),
      cast(${JSON.stringify(args.lockUsers)} as jsonb),
      cast(${JSON.stringify(args.claims)} as jsonb),
      cast(${JSON.stringify(args.ranges)} as jsonb),
      cast(${args.daysJson} as jsonb),
      cast(${JSON.stringify(args.completions)} as jsonb)
    )`.execute(db);
  const refused = new Set<string>();
  const completed = new Set<string>();
  for (const r of rows) (r.out_what === "refused" ? refused : completed).add(r.out_user_id);
  return { refused, completed };
}
