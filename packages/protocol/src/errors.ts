/**
 * The contract's error codes as named classes.
 *
 * Every request on `agg.*` that cannot be served is answered with
 * `{"error": {"code", "message"}}`; each code maps one-to-one onto a class
 * here, so the engine throws a class and {@link errorReply} turns it into the
 * reply, and the client turns the reply back into the same class.
 */

import type { BatchStatus } from "./schemas";

const INTERNAL_MESSAGE = "internal error; the engine logged the details";

/** The codes an error reply may carry (CONTRACT.md, "NATS subjects"). */
export type ErrorCode = "BAD_REQUEST" | "UNKNOWN_USER" | "BUSY" | "UNAVAILABLE" | "NOT_FOUND" | "INTERNAL";

/** Every code, in a stable order (for exhaustive tests and documentation). */
export const ERROR_CODES: readonly ErrorCode[] = Object.freeze([
  "BAD_REQUEST",
  "UNKNOWN_USER",
  "BUSY",
  "UNAVAILABLE",
  "NOT_FOUND",
  "INTERNAL",
]);

/** The reply a request gets when it cannot be served. */
export interface ErrorReply {
  readonly error: { readonly code: ErrorCode; readonly message: string };
}

/** Options of every {@link AggError}: the underlying error, kept for logs, never sent on the wire. */
export interface AggErrorOptions {
  readonly cause?: unknown;
}

/**
 * Base class of the contract's errors: a `code` from {@link ErrorCode} and a
 * message that is safe to send to the requester (it names the problem and
 * never carries a stack or a secret).
 *
 * @example
 * ```ts
 * try {
 *   await client.status("nope");
 * } catch (err) {
 *   if (err instanceof AggError && err.code === "NOT_FOUND") console.error(err.message);
 * }
 * ```
 */
export class AggError extends Error {
  override readonly name: string = "AggError";
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: AggErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/** The request is malformed: bad JSON, wrong types, unknown fields, impossible dates, oversize. */
export class BadRequestError extends AggError {
  override readonly name = "BadRequestError";
  constructor(message: string, options?: AggErrorOptions) {
    super("BAD_REQUEST", message, options);
  }
}

/** The request names only users the engine does not know. */
export class UnknownUserError extends AggError {
  override readonly name = "UnknownUserError";
  constructor(message: string, options?: AggErrorOptions) {
    super("UNKNOWN_USER", message, options);
  }
}

/** The engine is at a limit (batches in flight, queue depth); retry later. */
export class BusyError extends AggError {
  override readonly name = "BusyError";
  constructor(message: string, options?: AggErrorOptions) {
    super("BUSY", message, options);
  }
}

/**
 * Something the request needs is not there: no engine answers, NATS is not
 * reachable, the database is down, or the server is too old for a feature.
 */
export class UnavailableError extends AggError {
  override readonly name = "UnavailableError";
  constructor(message: string, options?: AggErrorOptions) {
    super("UNAVAILABLE", message, options);
  }
}

/** The thing asked about (a batch id) does not exist. */
export class NotFoundError extends AggError {
  override readonly name = "NotFoundError";
  constructor(message: string, options?: AggErrorOptions) {
    super("NOT_FOUND", message, options);
  }
}

/**
 * A failure that is the engine's fault. Its message on the wire is generic;
 * the details stay in the engine's logs (via `cause`).
 */
export class InternalError extends AggError {
  override readonly name = "InternalError";
  constructor(message = INTERNAL_MESSAGE, options?: AggErrorOptions) {
    super("INTERNAL", message, options);
  }
}

/**
 * The reply for a failed request. An {@link AggError} keeps its code and
 * message; anything else (a bug, a driver error) becomes `INTERNAL` with a
 * generic message, so no stack, SQL or secret ever reaches the requester.
 *
 * @example
 * ```ts
 * msg.respond(JSON.stringify(errorReply(err)));
 * ```
 */
export function errorReply(err: unknown): ErrorReply {
  // An AggError's message was written for the requester; anything else may hold internals.
  if (err instanceof AggError) return { error: { code: err.code, message: err.message } };
  return { error: { code: "INTERNAL", message: INTERNAL_MESSAGE } };
}

/** True when `value` has the shape of an error reply (`{"error": {"code": string, "message": string}}`). */
export function isErrorReply(value: unknown): value is ErrorReply {
  if (typeof value !== "object" || value === null || !("error" in value)) return false;
  const error = (value as { error: unknown }).error;
  return (
    typeof error === "object" &&
    error !== null &&
    typeof (error as { code?: unknown }).code === "string" &&
    typeof (error as { message?: unknown }).message === "string"
  );
}

/** True when `code` is one of the codes this version of the protocol knows. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && (ERROR_CODES as readonly string[]).includes(code);
}

/**
 * The error class for a reply's code: the inverse of {@link errorReply}.
 * A code this version does not know (a newer engine) becomes an
 * {@link InternalError} whose message keeps the original code.
 */
export function errorFromReply(reply: {
  readonly error: { readonly code: string; readonly message: string };
}): AggError {
  const { code, message } = reply.error;
  switch (code) {
    case "BAD_REQUEST":
      return new BadRequestError(message);
    case "UNKNOWN_USER":
      return new UnknownUserError(message);
    case "BUSY":
      return new BusyError(message);
    case "UNAVAILABLE":
      return new UnavailableError(message);
    case "NOT_FOUND":
      return new NotFoundError(message);
    case "INTERNAL":
      return new InternalError(message);
    default:
      return new InternalError(`${code}: ${message}`);
  }
}

/**
 * A local misconfiguration (an invalid prefix, an unreadable creds file, a
 * malformed `NATS_URL`). Not a wire error: it stops a program before it talks
 * to anyone, so it has no {@link ErrorCode}.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  /** The setting at fault, e.g. `"NATS_URL"` or `"prefix"`. */
  readonly setting: string;

  constructor(setting: string, message: string, options?: AggErrorOptions) {
    super(`${setting}: ${message}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.setting = setting;
  }
}

/**
 * `AggClient.waitForBatch` gave up before the batch ended. The batch
 * itself goes on; `lastStatus` is the last status seen, if any. Not a wire
 * error: it is the waiting client's own deadline.
 */
export class WaitTimeoutError extends Error {
  override readonly name = "WaitTimeoutError";
  readonly batchId: string;
  readonly timeoutMs: number;
  readonly lastStatus: BatchStatus | undefined;

  constructor(batchId: string, timeoutMs: number, lastStatus?: BatchStatus) {
    super(`batch ${batchId} did not end within ${timeoutMs} ms`);
    this.batchId = batchId;
    this.timeoutMs = timeoutMs;
    this.lastStatus = lastStatus;
  }
}
