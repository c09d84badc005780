import type { Command } from "../command";
import { ExitCode } from "../exit-code";
import { storeModule, withStore } from "../open-store";
import { parseCommandArgs } from "../parse-command-args";

/** Duplicate summaries listed on stderr; stdout's JSON has them all (as reported). */
const DUPLICATES_SHOWN = 20;

/**
 * `pnpm agg migrate`: brings the database to the latest schema. Human lines on
 * stderr; on stdout one JSON object:
 * `{"database", "applied": [...], "duplicateSummaries": [{"userId", "fromTime", "count"}], "warnings": [...]}`.
 * Duplicate summaries do not fail it (exit 0).
 */
export const migrateCommand: Command = {
  name: "migrate",
  usage: "",
  description: "create the missing tables and indexes (never drops or rewrites a Wakapi column)",
  async run(args, io) {
    parseCommandArgs("migrate", args, {});
    return withStore(io, async (store) => {
      io.stderr(`migrating ${store.kind === "postgres" ? "PostgreSQL" : "PGlite"} at ${store.location}`);
      const { migrateToLatest } = await storeModule();
      const report = await migrateToLatest(store.db);
      if (report.applied.length === 0) io.stderr("schema is up to date, nothing applied");
      for (const name of report.applied) io.stderr(`applied ${name}`);
      for (const d of report.duplicateSummaries.slice(0, DUPLICATES_SHOWN)) {
        io.stderr(
          `duplicate summaries: user ${d.userId} from ${new Date(d.fromTime).toISOString()}: ${d.count} rows`,
        );
      }
      if (report.duplicateSummaries.length > DUPLICATES_SHOWN) {
        io.stderr(
          `... and ${report.duplicateSummaries.length - DUPLICATES_SHOWN} more (in the JSON on stdout)`,
        );
      }
      for (const warning of report.warnings) io.stderr(`warning: ${warning}`);
      io.stdout(
        JSON.stringify({
          database: store.kind,
          applied: report.applied,
          duplicateSummaries: report.duplicateSummaries.map((d) => ({
            userId: d.userId,
            fromTime: new Date(d.fromTime).toISOString(),
            count: d.count,
          })),
          warnings: report.warnings,
        }),
      );
      return ExitCode.ok;
    });
  },
};
