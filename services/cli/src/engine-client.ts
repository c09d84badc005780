import { AggClient, connectNats, DEFAULT_PREFIX, isValidPrefix } from "@agg/protocol";
import { RequestError } from "@nats-io/nats-core";
import type { CliIo } from "./command";
import { UsageError } from "./usage-error";

/**
 * The subject prefix the engines answer on: `AGG_PREFIX`, default `agg`.
 * @throws {UsageError} for a prefix that is not dot-separated NATS tokens.
 */
export function subjectPrefix(io: CliIo): string {
  const prefix = io.env.AGG_PREFIX?.trim() || DEFAULT_PREFIX;
  if (!isValidPrefix(prefix)) {
    throw new UsageError(
      `AGG_PREFIX ${JSON.stringify(prefix)} is not a subject prefix (expected dot-separated tokens of A-Z a-z 0-9 _ -)`,
    );
  }
  return prefix;
}

/**
 * Runs `fn` with a typed client connected to the NATS of the environment
 * (`NATS_URL`, `NATS_CREDS`, ...; see `connectNats`) on `AGG_PREFIX`, and
 * closes the connection whatever happens. `timeoutMs` bounds the wait for
 * each reply (default the client's, 10 s).
 *
 * @throws {UnavailableError} when no NATS server accepts the connection (exit 3).
 * @example
 * ```ts
 * const status = await withEngine(io, (client) => client.status(batchId));
 * ```
 */
export async function withEngine<T>(
  io: CliIo,
  fn: (client: AggClient) => Promise<T>,
  options: { readonly timeoutMs?: number } = {},
): Promise<T> {
  const prefix = subjectPrefix(io);
  const nc = await connectNats(io.env, { name: "agg-cli" });
  try {
    return await fn(new AggClient(nc, { prefix, ...options }));
  } finally {
    await nc.close().catch(() => undefined);
  }
}

/** True when a NATS request failed because nobody subscribes to its subject. */
export function isNoResponders(error: unknown): boolean {
  return error instanceof RequestError && error.isNoResponders();
}
