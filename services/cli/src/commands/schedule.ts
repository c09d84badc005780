import { nextZoneRuns, resolveTimeZone } from "@agg/core";
import type { Command } from "../command";
import { ExitCode } from "../exit-code";
import { withStore } from "../open-store";
import { parseCommandArgs } from "../parse-command-args";
import { UsageError } from "../usage-error";

const DEFAULT_OFFSET_MS = 10 * 60_000;
const RECENT_RUNS = 10;

/**
 * `pnpm agg schedule`: the cluster's next nightly runs (one per time zone of the
 * users, each `AGG_SCHEDULE_OFFSET_MS` after that zone's local midnight) and the
 * latest runs that happened. A table on stderr, one JSON object on stdout:
 * `{"offsetMs", "next": [{"timeZone", "day", "dueAt", "users"}], "recent": [{"timeZone", "day", "batchId", "at"}]}`.
 */
export const scheduleCommand: Command = {
  name: "schedule",
  usage: "",
  description: "show the next nightly runs per time zone, and the latest ones",
  async run(args, io) {
    parseCommandArgs("schedule", args, {});
    const rawOffset = io.env.AGG_SCHEDULE_OFFSET_MS;
    const offsetMs = rawOffset === undefined || rawOffset === "" ? DEFAULT_OFFSET_MS : Number(rawOffset);
    if (!Number.isSafeInteger(offsetMs) || offsetMs < 0) {
      throw new UsageError(
        `agg schedule: AGG_SCHEDULE_OFFSET_MS must be a whole number of milliseconds >= 0`,
      );
    }
    return withStore(io, async (store) => {
      const users = await store.db.selectFrom("users").select(["location"]).execute();
      const perZone = new Map<string, number>();
      for (const u of users) {
        const zone = resolveTimeZone(u.location);
        perZone.set(zone, (perZone.get(zone) ?? 0) + 1);
      }
      const next = nextZoneRuns(perZone.keys(), Date.now(), offsetMs).map((run) => ({
        timeZone: run.timeZone,
        day: run.day,
        dueAt: new Date(run.dueAt).toISOString(),
        users: perZone.get(run.timeZone) ?? 0,
      }));
      const recent = (
        await store.db
          .selectFrom("agg_schedule_runs")
          .select(["time_zone", "day", "batch_id", "created_at"])
          .orderBy("created_at", "desc")
          .limit(RECENT_RUNS)
          .execute()
      ).map((r) => ({
        timeZone: r.time_zone,
        day: r.day,
        batchId: r.batch_id,
        at: new Date(r.created_at).toISOString(),
      }));
      if (next.length === 0) io.stderr("no users: nothing is scheduled");
      for (const n of next)
        io.stderr(`${n.dueAt}  ${n.timeZone.padEnd(32)} ${String(n.users).padStart(7)} users`);
      io.stdout(JSON.stringify({ offsetMs, next, recent }));
      return ExitCode.ok;
    });
  },
};
