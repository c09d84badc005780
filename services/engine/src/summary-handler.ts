import { DaySchema, decodeRequest, NotFoundError, UserIdSchema } from "@agg/protocol";
import { type Database, readUserSummaryReport } from "@agg/store";
import type { Kysely } from "kysely";
import { z } from "zod";

/**
 * `<prefix>.summary` payload: `{"user", "from", "to"}`, all required, days
 * inclusive in the user's zone. Strict, like every request: a typo such as
 * `"users"` is a BAD_REQUEST, never a silently different question.
 */
const SummaryRequestSchema = z
  .strictObject(
    { user: UserIdSchema, from: DaySchema, to: DaySchema },
    {
      error: (issue) =>
        issue.code === "unrecognized_keys"
          ? `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`
          : undefined,
    },
  )
  .superRefine((request, ctx) => {
    // YYYY-MM-DD compares chronologically as text.
    if (request.from > request.to) {
      ctx.addIssue({
        code: "custom",
        path: ["from"],
        message: `${JSON.stringify(request.from)} is after to ${JSON.stringify(request.to)}`,
      });
    }
  });

/**
 * Answers `<prefix>.summary`: the stored summaries of one user for a range of
 * local days, the same object `pnpm agg summary` prints
 * (`{"user", "timeZone", "days": [...]}`). It lets the CLI read summaries
 * while this engine holds the embedded PGlite store, which admits one process.
 *
 * @throws {BadRequestError} for a payload that is not `{"user", "from", "to"}` with real days, `from <= to`.
 * @throws {NotFoundError} when the user does not exist.
 * @example
 * ```ts
 * this.serve(`${prefix}.summary`, queue, (m) => handleSummaryRequest(this.database.db, m.data));
 * ```
 */
export async function handleSummaryRequest(db: Kysely<Database>, data: Uint8Array): Promise<unknown> {
  const { user, from, to } = decodeRequest(SummaryRequestSchema, data);
  const report = await readUserSummaryReport(db, user, from, to);
  if (!report) throw new NotFoundError(`unknown user ${JSON.stringify(user)}`);
  return report;
}
