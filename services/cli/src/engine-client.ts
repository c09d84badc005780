import {
  AggClient,
  connectNats,
  DEFAULT_PREFIX,
  DEFAULT_REQUEST_TIMEOUT_MS,
  errorFromReply,
  InternalError,
  isErrorReply,
  isValidPrefix,
  UnavailableError,
} from "@agg/protocol";
import { type Msg, RequestError, TimeoutError } from "@nats-io/nats-core";
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

/**
 * One request-reply on a subject the typed client does not cover (such as
 * `<prefix>.summary`): JSON out, JSON back, an error reply thrown as its
 * `AggError` class, no answer as an `UnavailableError`.
 */
export async function requestJson(client: AggClient, subject: string, payload: unknown): Promise<unknown> {
  let msg: Msg;
  try {
    msg = await client.nc.request(subject, JSON.stringify(payload), { timeout: DEFAULT_REQUEST_TIMEOUT_MS });
  } catch (cause) {
    if (isNoResponders(cause)) throw new UnavailableError(`no engine is answering on ${subject}`, { cause });
    if (cause instanceof TimeoutError || (cause instanceof Error && cause.cause instanceof TimeoutError)) {
      throw new UnavailableError(`no reply on ${subject} within ${DEFAULT_REQUEST_TIMEOUT_MS} ms`, { cause });
    }
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new UnavailableError(`request on ${subject} failed: ${reason}`, { cause });
  }
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(msg.data));
  } catch (cause) {
    throw new InternalError(`malformed reply on ${subject}: not JSON`, { cause });
  }
  if (isErrorReply(body)) throw errorFromReply(body);
  return body;
}

/** True when a NATS request failed because nobody subscribes to its subject. */
export function isNoResponders(error: unknown): boolean {
  return error instanceof RequestError && error.isNoResponders();
}
