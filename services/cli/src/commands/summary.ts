import { addDays, isLocalDay, localDayOf, startOfLocalDay } from "@agg/core";
import { listSummaries, loadUserSettings } from "@agg/store";
import type { Command } from "../command";
import { ExitCode } from "../exit-code";
import { withStore } from "../open-store";
import { parseCommandArgs } from "../parse-command-args";
import { UsageError } from "../usage-error";

/**
 * `pnpm agg summary --user U --from D --to D`: the stored summaries of user U
 * for the local days D..D (inclusive, in the user's zone), as one JSON object:
 * `{"user", "timeZone", "days": [{"day", "from", "to", "numHeartbeats", "items": [{"type", "key", "total"}]}]}`
 * (`from`/`to` as ISO instants, `total` in seconds). Days never summarised are absent.
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
    const user = required("user", values.user, "a user id");
    const from = day("from", values.from);
    const to = day("to", values.to);
    if (from > to) throw new UsageError(`summary: --from ${from} is after --to ${to}`);

    return withStore(io, async (store) => {
      const settings = await loadUserSettings(store.db, user);
      if (!settings) throw new UsageError(`summary: --user: unknown user "${user}"`);
      const zone = settings.timeZone;
      const stored = await listSummaries(
        store.db,
        user,
        startOfLocalDay(from, zone),
        startOfLocalDay(addDays(to, 1), zone),
      );
      const output = {
        user,
        timeZone: zone,
        days: stored.map((s) => ({
          day: localDayOf(s.fromTime, zone),
          from: new Date(s.fromTime).toISOString(),
          to: new Date(s.toTime).toISOString(),
          numHeartbeats: s.numHeartbeats,
          items: s.items.map((i) => ({ type: i.type, key: i.key, total: i.total })),
        })),
      };
      io.stdout(JSON.stringify(output, null, 2));
      return ExitCode.ok;
    });
  },
};

function required(flag: string, value: string | undefined, what: string): string {
  if (value === undefined || value.trim() === "")
    throw new UsageError(`summary: --${flag} is required (${what})`);
  return value;
}

function day(flag: string, value: string | undefined): string {
  const text = required(flag, value, "a day as YYYY-MM-DD");
  if (!isLocalDay(text))
    throw new UsageError(`summary: --${flag} "${text}" is not a valid date (expected YYYY-MM-DD)`);
  return text;
}
