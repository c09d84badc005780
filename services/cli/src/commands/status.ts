import { isBatchId } from "@agg/protocol";
import type { Command } from "../command";
import { withEngine } from "../engine-client";
import { ExitCode } from "../exit-code";
import { parseCommandArgs } from "../parse-command-args";
import { UsageError } from "../usage-error";

/**
 * `pnpm agg status <batchId>`: the batch's `agg.status` object as JSON
 * (`{"batchId", "state", "users", "done", "failed", "skipped"}`). An unknown
 * batch is the engine's NOT_FOUND: exit 2.
 */
export const statusCommand: Command = {
  name: "status",
  usage: "<batchId>",
  description: "print a batch's status (agg.status) as JSON",
  async run(args, io) {
    const { positionals } = parseCommandArgs("status", args, {}, true);
    const [batchId, extra] = positionals;
    if (batchId === undefined)
      throw new UsageError("status: <batchId> is required (the id agg request printed)");
    if (extra !== undefined) throw new UsageError(`status: unexpected argument ${extra}`);
    if (!isBatchId(batchId)) {
      throw new UsageError(
        `status: <batchId> "${batchId}" is not a batch id (expected 1-128 characters of A-Z a-z 0-9 _ -)`,
      );
    }
    const status = await withEngine(io, (client) => client.status(batchId));
    io.stdout(JSON.stringify(status, null, 2));
    return ExitCode.ok;
  },
};
