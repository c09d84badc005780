import { setTimeout as sleep } from "node:timers/promises";
import {
  type AggClient,
  type InspectReply,
  type InspectRequest,
  isBatchId,
  MAX_USER_ID_LENGTH,
  matchesInspectFilter,
  UnavailableError,
} from "@agg/protocol";
import type { CliIo, Command } from "../command";
import { withEngine } from "../engine-client";
import { ExitCode } from "../exit-code";
import { matchesState, renderInspectTable } from "../inspect-table";
import { parseCommandArgs } from "../parse-command-args";
import { untilAborted } from "../until-aborted";
import { UsageError } from "../usage-error";

/** How often `--watch` asks again. */
const REFRESH_MS = 1_000;
/** A watch asks every second; a reply slower than this shows as "no instances" and is asked again. */
const WATCH_REPLY_TIMEOUT_MS = 3_000;

/** Cursor home, then (after the lines) clear to the end of the screen: a redraw without flicker. */
const HOME = "\x1b[H";
const CLEAR_LINE_END = "\x1b[K";
const CLEAR_BELOW = "\x1b[J";
const HIDE_CURSOR = "\x1b[?25l";
const SHOW_CURSOR = "\x1b[?25h";

/**
 * `pnpm agg inspect [--watch] [--user U] [--batch B] [--state S]`: the live
 * actors of every engine instance (`agg.inspect`) as JSON, narrowed by user,
 * batch and state (`--state aggregating` matches `processingJob.aggregating`).
 * With `--watch`, a table redrawn every second until Ctrl-C (exit 0); on a
 * pipe, one table per refresh. While no engine answers the watch shows
 * "no instances" and keeps asking.
 */
export const inspectCommand: Command = {
  name: "inspect",
  usage: "[--watch] [--user U] [--batch B] [--state S]",
  description: "print the live actors of every engine instance (agg.inspect); --watch: a live table",
  async run(args, io) {
    const { values } = parseCommandArgs("inspect", args, {
      watch: { type: "boolean" },
      user: { type: "string" },
      batch: { type: "string" },
      state: { type: "string" },
    });
    const filter: InspectRequest = {};
    if (values.user !== undefined) {
      if (values.user === "" || values.user.length > MAX_USER_ID_LENGTH) {
        throw new UsageError(`inspect: --user "${values.user}" is not a user id`);
      }
      filter.userId = values.user;
    }
    if (values.batch !== undefined) {
      if (!isBatchId(values.batch)) {
        throw new UsageError(
          `inspect: --batch "${values.batch}" is not a batch id (expected 1-128 characters of A-Z a-z 0-9 _ -)`,
        );
      }
      filter.batchId = values.batch;
    }
    if (values.state !== undefined && values.state.trim() === "") {
      throw new UsageError("inspect: --state is empty (expected a state name such as aggregating)");
    }
    const narrow = (reply: InspectReply) => narrowReply(reply, filter, values.state);

    if (!values.watch) {
      const reply = await withEngine(io, (client) => client.inspect(filter));
      io.stdout(JSON.stringify(narrow(reply), null, 2));
      return ExitCode.ok;
    }
    return withEngine(io, (client) => watch(client, io, filter, narrow), {
      timeoutMs: WATCH_REPLY_TIMEOUT_MS,
    });
  },
};

/**
 * The reply with only the actors every filter matches. The filters are also
 * sent to the engine; applying them here too keeps the output right with an
 * engine that lists everything. Instances are always all listed.
 */
function narrowReply(reply: InspectReply, filter: InspectRequest, state: string | undefined): InspectReply {
  return {
    ...reply,
    actors: reply.actors.filter(
      (a) => matchesInspectFilter(a, filter) && (state === undefined || matchesState(a, state)),
    ),
  };
}

/** Redraws the table every second until Ctrl-C. */
async function watch(
  client: AggClient,
  io: CliIo,
  filter: InspectRequest,
  narrow: (reply: InspectReply) => InspectReply,
): Promise<ExitCode> {
  const signal = io.signal;
  const screen = io.tty?.stdout;
  const subject = client.subjects.inspect;
  screen?.write(HIDE_CURSOR);
  try {
    while (!signal?.aborted) {
      let reply: InspectReply | undefined;
      let reason: string | undefined;
      try {
        reply = await untilAborted(client.inspect(filter), signal);
        if (reply) reply = narrow(reply);
      } catch (error) {
        // Nobody answering is what this view is for: say so, and ask again.
        if (!(error instanceof UnavailableError)) throw error;
        reason = error.message;
      }
      if (signal?.aborted) break;
      const now = new Date();
      if (screen) {
        const lines = renderInspectTable(
          reply,
          { now, subject, width: screen.columns, height: screen.rows },
          reason,
        );
        screen.write(`${HOME}${lines.map((l) => `${l}${CLEAR_LINE_END}`).join("\n")}\n${CLEAR_BELOW}`);
      } else {
        // Not a terminal: one table per refresh, a blank line between them.
        io.stdout(`${renderInspectTable(reply, { now, subject }, reason).join("\n")}\n`);
      }
      await sleep(REFRESH_MS, undefined, signal ? { signal } : {}).catch(() => undefined);
    }
  } finally {
    screen?.write(SHOW_CURSOR);
  }
  return ExitCode.ok;
}
