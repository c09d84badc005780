import type { z } from "zod";
import { BadRequestError } from "./errors";
import { describeValue } from "./schemas";

/** Default bound on a request payload (1 MiB, nats-server's default `max_payload`). */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

/** At most this many problems are listed in one message; the rest are counted. */
const MAX_ISSUES_LISTED = 5;

/** Options of {@link decodeRequest}. */
export interface DecodeOptions {
  /** Payloads longer than this are refused before they are parsed. Default {@link DEFAULT_MAX_PAYLOAD_BYTES}. */
  readonly maxBytes?: number;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Parses and validates a request payload: UTF-8 JSON holding one object that
 * `schema` accepts. Every way it can fail is a {@link BadRequestError} whose
 * message names the field and the problem, so the engine replies at once and
 * nothing runs for a rejected request.
 *
 * An empty payload is refused too: the contract says every payload is a JSON
 * object, and reading nothing as `{}` on `agg.request` would mean "every user".
 *
 * @throws {BadRequestError}
 * @example
 * ```ts
 * const request = decodeRequest(AggRequestSchema, msg.data);
 * // {"from": "2025-13-01"} -> BadRequestError: from: expected YYYY-MM-DD, got "2025-13-01"
 * ```
 */
export function decodeRequest<S extends z.ZodType>(
  schema: S,
  data: Uint8Array,
  options: DecodeOptions = {},
): z.output<S> {
  const value = decodeJsonObject(data, options);
  const result = schema.safeParse(value, { reportInput: true });
  if (!result.success) throw new BadRequestError(formatIssues(result.error.issues), { cause: result.error });
  return result.data;
}

/**
 * The JSON object in a payload, unvalidated. Refuses oversize, empty,
 * non-UTF-8, non-JSON and non-object payloads with a {@link BadRequestError}.
 */
export function decodeJsonObject(data: Uint8Array, options: DecodeOptions = {}): Record<string, unknown> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  if (data.byteLength > maxBytes) {
    throw new BadRequestError(`payload is ${data.byteLength} bytes; the limit is ${maxBytes}`);
  }
  let text: string;
  try {
    text = utf8.decode(data);
  } catch (cause) {
    throw new BadRequestError("payload is not valid UTF-8", { cause });
  }
  if (text.trim().length === 0) {
    throw new BadRequestError("payload is empty; send a JSON object (for example {})");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    const detail = cause instanceof SyntaxError ? `: ${cause.message}` : "";
    throw new BadRequestError(`payload is not valid JSON${truncate(detail, 120)}`, { cause });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new BadRequestError(`payload must be a JSON object, got ${describeValue(value)}`);
  }
  return value as Record<string, unknown>;
}

/**
 * One message for a list of zod issues: `field: problem` for each (at most
 * five, then "and N more problems"). A message that already starts with its
 * field name is kept as it is.
 */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  const parts = issues.slice(0, MAX_ISSUES_LISTED).map((issue) => {
    const path = formatPath(issue.path);
    if (path === "" || issue.message.startsWith(`${path} `)) return issue.message;
    return `${path}: ${issue.message}`;
  });
  const rest = issues.length - MAX_ISSUES_LISTED;
  if (rest > 0) parts.push(`and ${rest} more problem${rest > 1 ? "s" : ""}`);
  return parts.join("; ");
}

/** `["users", 3]` -> `users[3]`. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out;
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}
