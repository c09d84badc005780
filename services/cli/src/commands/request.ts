import {
  AGG_MODES,
  type AggClient,
  type AggMode,
  type AggRequestInput,
  createAggRequestSchema,
  formatIssues,
  MAX_USER_ID_LENGTH,
  WaitTimeoutError,
} from "@agg/protocol";
import { BatchProgress, describeProgress } from "../batch-progress";
import type { CliIo, Command } from "../command";
import { withEngine } from "../engine-client";
import { ExitCode } from "../exit-code";
import { assertDayOrder, dayFlag } from "../flag-values";
import { parseCommandArgs } from "../parse-command-args";
import { untilAborted } from "../until-aborted";
import { UsageError } from "../usage-error";

/**
 * The engine's own request schema, as a last local check. The size limit is
 * the engine's to configure, so it is left to the engine's reply here.
 */
const LocalRequestSchema = createAggRequestSchema({ maxUsersPerRequest: Number.MAX_SAFE_INTEGER });

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * `pnpm agg request [--users a,b] [--mode missing|regenerate] [--from D] [--to D] [--wait] [--timeout SECONDS]`:
 * sends `agg.request` and prints the reply (`{"batchId", "users"}`) as JSON.
 * With `--wait` it follows the batch: progress on stderr, then the final
 * status object (`agg.status`'s) as JSON on stdout; exit 0 only when the batch
 * `completed` (1 when it `failed` or was `cancelled`, or `--timeout` passed).
 * Flags are checked here first, by the engine's rules, so a typo never
 * reaches the engine.
 */
export const requestCommand: Command = {
  name: "request",
  usage: "[--users a,b] [--mode missing|regenerate] [--from D] [--to D] [--wait] [--timeout SECONDS]",
  description:
    "ask the engines for a batch (no --users: every user); --wait follows it and prints its final status",
  async run(args, io) {
    const { values } = parseCommandArgs("request", args, {
      users: { type: "string" },
      mode: { type: "string" },
      from: { type: "string" },
      to: { type: "string" },
      wait: { type: "boolean" },
      timeout: { type: "string" },
    });
    const payload = requestPayload(values);
    if (values.timeout !== undefined && !values.wait) {
      throw new UsageError("request: --timeout applies only with --wait");
    }
    const timeoutMs = values.timeout === undefined ? undefined : seconds("timeout", values.timeout) * 1000;

    return withEngine(io, async (client) => {
      if (!values.wait) {
        io.stdout(JSON.stringify(await client.request(payload), null, 2));
        return ExitCode.ok;
      }
      return waitForRequest(client, payload, io, timeoutMs);
    });
  },
};

/** Requests, follows the batch to its end, prints its final status. */
async function waitForRequest(
  client: AggClient,
  payload: AggRequestInput,
  io: CliIo,
  timeoutMs: number | undefined,
): Promise<ExitCode> {
  const signal = io.signal;
  // Subscribed before the request is sent, so even a batch that ends at once is seen ending.
  const requested = await untilAborted(client.requestAndWatch(payload, signal ? { signal } : {}), signal);
  if (!requested) {
    io.stderr("interrupted before the engine answered; the batch may have been accepted (pnpm agg inspect)");
    return ExitCode.interrupted;
  }
  const { accepted, events } = requested;
  const batchId = accepted.batchId;
  const progress = new BatchProgress(io);
  progress.update({ batchId, state: "running", users: accepted.users, done: 0, failed: 0, skipped: 0 });
  try {
    const final = await client.waitForBatch(batchId, {
      events,
      onProgress: (status) => progress.update(status),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      ...(signal ? { signal } : {}),
    });
    progress.finish(describeProgress(final));
    io.stdout(JSON.stringify(final, null, 2));
    return final.state === "completed" ? ExitCode.ok : ExitCode.failure;
  } catch (error) {
    const goesOn = `it goes on: pnpm agg status ${batchId}`;
    if (signal?.aborted) {
      progress.finish(`stopped waiting for batch ${batchId}; ${goesOn}`);
      return ExitCode.interrupted;
    }
    if (error instanceof WaitTimeoutError) {
      const last = error.lastStatus ? ` (${describeProgress(error.lastStatus)})` : "";
      progress.finish(`batch ${batchId} did not end within ${timeoutMs! / 1000} s${last}; ${goesOn}`);
      return ExitCode.failure;
    }
    progress.close();
    throw error;
  }
}

/** The `agg.request` payload the flags ask for. @throws {UsageError} naming the flag. */
function requestPayload(values: {
  users?: string | undefined;
  mode?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
}): AggRequestInput {
  const payload: { users?: string[]; mode?: AggMode; from?: string; to?: string } = {};
  if (values.users !== undefined) payload.users = userList(values.users);
  if (values.mode !== undefined) {
    if (!(AGG_MODES as readonly string[]).includes(values.mode)) {
      throw new UsageError(`request: --mode "${values.mode}" is not a mode (expected missing or regenerate)`);
    }
    payload.mode = values.mode as AggMode;
  }
  if (values.from !== undefined) payload.from = dayFlag("request", "from", values.from);
  if (values.to !== undefined) payload.to = dayFlag("request", "to", values.to);
  assertDayOrder("request", payload.from, payload.to);
  const checked = LocalRequestSchema.safeParse(payload);
  if (!checked.success) throw new UsageError(`request: ${formatIssues(checked.error.issues)}`);
  return payload;
}

/** `a,b` -> `["a", "b"]`; an empty list or entry is refused (an empty list never means every user). */
function userList(value: string): string[] {
  if (value.trim() === "") {
    throw new UsageError("request: --users is empty; name at least one user, or omit --users for every user");
  }
  const users = value.split(",").map((u) => u.trim());
  if (users.some((u) => u === "")) {
    throw new UsageError(`request: --users "${value}" has an empty user id`);
  }
  const long = users.find((u) => u.length > MAX_USER_ID_LENGTH);
  if (long !== undefined) {
    throw new UsageError(
      `request: --users has a user id longer than ${MAX_USER_ID_LENGTH} characters ("${long.slice(0, 20)}...")`,
    );
  }
  return users;
}

/** A positive number of seconds. @throws {UsageError} naming the flag. */
function seconds(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n <= 0) {
    throw new UsageError(
      `request: --${flag} "${value}" is not a number of seconds (expected a positive number)`,
    );
  }
  // Node's timers hold at most 2^31 - 1 ms; a longer one would fire at once.
  if (n * 1000 > MAX_TIMER_MS) {
    throw new UsageError(
      `request: --${flag} ${value} is too long (at most ${Math.floor(MAX_TIMER_MS / 1000)} s)`,
    );
  }
  return n;
}
