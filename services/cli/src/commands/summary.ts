import { existsSync } from "node:fs";
import { UnavailableError } from "@agg/protocol";
import type { UserSummaryReport } from "@agg/store";
import { DatabaseUnavailableError } from "@agg/store/errors";
import type { CliIo, Command } from "../command";
import { withEngine } from "../engine-client";
import { ExitCode } from "../exit-code";
import { assertDayOrder, dayFlag, requiredFlag } from "../flag-values";
import { openStore, pgliteDir, storeModule } from "../open-store";
import { parseCommandArgs } from "../parse-command-args";
import { UsageError } from "../usage-error";

/**
 * `pnpm agg summary --user U --from D --to D`: the stored summaries of user U
 * for the local days D..D (inclusive, in the user's zone), as one JSON object:
 * `{"user", "timeZone", "days": [{"day", "from", "to", "numHeartbeats", "items": [{"type", "key", "total"}]}]}`
 * (`from`/`to` as ISO instants, `total` in seconds). Days never summarised are absent.
 *
 * Without `DATABASE_URL` it reads the embedded store under `./data/pglite`;
 * while a running engine holds that store (PGlite admits one process), it asks
 * that engine instead, on `<prefix>.summary`, for the same object.
 */
export const summaryCommand: Command = {
  name: "summary",
  usage: "--user U --from YYYY-MM-DD --to YYYY-MM-DD",
  description: "print the stored summaries of user U for the local days from..to (inclusive) as JSON",
  async run(args, io) {
    const { values } = parseCommandArgs("summary", args, {
      user: { type: "string" },
      from: { type: "string" },
      to: { type: "string" },
    });
    const user = requiredFlag("summary", "user", values.user, "a user id");
    const from = dayFlag(
      "summary",
      "from",
      requiredFlag("summary", "from", values.from, "a day as YYYY-MM-DD"),
    );
    const to = dayFlag("summary", "to", requiredFlag("summary", "to", values.to, "a day as YYYY-MM-DD"));
    assertDayOrder("summary", from, to);

    const report = await readReport(io, user, from, to);
    if (!report) throw new UsageError(`summary: --user: unknown user "${user}"`);
    io.stdout(JSON.stringify(report, null, 2));
    return ExitCode.ok;
  },
};

/** The report from the database, or from the engine that holds the embedded store. */
async function readReport(
  io: CliIo,
  user: string,
  from: string,
  to: string,
): Promise<UserSummaryReport | null> {
  let store: Awaited<ReturnType<typeof openStore>>;
  try {
    store = await openStore(io);
  } catch (error) {
    if (!(error instanceof DatabaseUnavailableError) || !(await heldByAnotherProcess(io))) throw error;
    return askEngine(io, user, from, to, error);
  }
  try {
    const { readUserSummaryReport } = await storeModule();
    return await readUserSummaryReport(store.db, user, from, to);
  } finally {
    await store.close();
  }
}

/**
 * True when the embedded store is in use by another process. The store's lock
 * file outlives a failed open only while a live process holds it (a stale one
 * is taken over, and a failed open releases its own).
 */
async function heldByAnotherProcess(io: CliIo): Promise<boolean> {
  if (io.env.DATABASE_URL) return false;
  return existsSync(`${(await pgliteDir(io)).replace(/[/\\]+$/, "")}.lock`);
}

/**
 * `<prefix>.summary` from a running engine. When no engine answers (or NATS is
 * down), the store's own error stands: it says who holds the store.
 */
async function askEngine(
  io: CliIo,
  user: string,
  from: string,
  to: string,
  storeError: DatabaseUnavailableError,
): Promise<UserSummaryReport> {
  let reply: unknown;
  try {
    reply = await withEngine(io, (client) =>
      client.requestJson(`${client.subjects.prefix}.summary`, { user, from, to }),
    );
  } catch (error) {
    if (error instanceof UnavailableError) {
      throw new DatabaseUnavailableError(`${storeError.message} (and no engine answers on NATS to read it)`, {
        cause: error,
      });
    }
    throw error;
  }
  if (!isReport(reply)) throw new Error("malformed reply on the summary subject: not a summary report");
  return reply;
}

function isReport(value: unknown): value is UserSummaryReport {
  const r = value as Partial<UserSummaryReport> | null;
  return (
    typeof r === "object" &&
    r !== null &&
    typeof r.user === "string" &&
    typeof r.timeZone === "string" &&
    Array.isArray(r.days)
  );
}
