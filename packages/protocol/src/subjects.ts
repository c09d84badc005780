import { BadRequestError, ConfigError } from "./errors";

/** The default subject prefix (CONTRACT.md: `agg.request`, `agg.status`, ...). */
export const DEFAULT_PREFIX = "agg";

/** Characters a batch id, job partition or dead-letter kind may use: one NATS token, no escaping needed. */
export const SAFE_TOKEN_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

const PREFIX_PATTERN = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const MAX_PREFIX_LENGTH = 100;
const NAME_SUFFIX_PATTERN = /^[A-Z0-9]+$/;

/**
 * Names of the JetStream objects the engine owns, derived from the prefix so
 * that two prefixes on one NATS never share a stream, consumer or bucket.
 *
 * The mapping is injective: lowercase letters become uppercase, digits and
 * `-` stay, `.` becomes `_`, and any other character (`_`, uppercase letters)
 * is escaped as `_x` plus two hex digits. So `agg` -> `AGG`, `acme.agg` ->
 * `ACME_AGG`, `agg_test` -> `AGG_x5fTEST`. Suffixes are one word, so
 * `base + "_" + suffix` stays injective too.
 */
export interface ResourceNames {
  /** The encoded prefix every name starts with, e.g. `AGG`. */
  readonly base: string;
  /** Work-queue stream holding user jobs (`<prefix>.x.jobs.>`), e.g. `AGG_JOBS`. */
  readonly jobsStream: string;
  /** Durable pull consumer every instance shares on {@link jobsStream}, e.g. `AGG_WORKERS`. */
  readonly jobsConsumer: string;
  /** Stream keeping poison messages for inspection (`<prefix>.x.dead.>`), e.g. `AGG_DEAD`. */
  readonly deadLetterStream: string;
  /** KV bucket for batch state, e.g. `AGG_BATCHES`. */
  readonly batchesBucket: string;
  /** KV bucket for per-user leases (single flight), e.g. `AGG_LEASES`. */
  readonly leasesBucket: string;
  /** KV bucket for instance presence, e.g. `AGG_INSTANCES`. */
  readonly instancesBucket: string;
  /**
   * Any further name: `name("RESULTS")` -> `AGG_RESULTS`. The suffix must be
   * one word of `A-Z0-9` (that keeps the mapping injective).
   */
  name(suffix: string): string;
}

/**
 * Every subject of the protocol for one prefix. Public subjects are the
 * contract's; the `x` (internal) subjects are engine-to-engine and clients
 * are not granted them (see issue 7, least privilege).
 */
export interface Subjects {
  /** The validated prefix, e.g. `agg`. */
  readonly prefix: string;
  /** `agg.request`: request-reply, {@link AggRequest} -> {@link RequestAccepted}. */
  readonly request: string;
  /** `agg.status`: request-reply, {@link StatusRequest} -> {@link BatchStatus}. */
  readonly status: string;
  /** `agg.inspect`: request-reply, {@link InspectRequest} -> {@link InspectReply}. */
  readonly inspect: string;
  /** `agg.batch.<batchId>`: progress events, then one final event. Throws {@link BadRequestError} for an unsafe id. */
  batchEvents(batchId: string): string;
  /** `agg.batch.*`: every batch's events. */
  readonly batchEventsWildcard: string;
  /** The batch id of an `agg.batch.<batchId>` subject, or `undefined` for any other subject. */
  batchIdOf(subject: string): string | undefined;
  /** Queue group the engine instances share on the public request subjects, e.g. `agg-engine`. */
  readonly engineQueue: string;

  /** `agg.x.>`: every internal subject (for permissions: engines only). */
  readonly internalWildcard: string;
  /** `agg.x.jobs.<partition>`: JetStream job messages of one partition or batch. */
  jobs(partitionOrBatch: string): string;
  /** `agg.x.jobs.>`: the job stream's subjects. */
  readonly jobsWildcard: string;
  /** `agg.x.report.<batchId>`: a user's outcome, sent to the batch's coordinator. */
  report(batchId: string): string;
  /** `agg.x.report.*`: every report. */
  readonly reportWildcard: string;
  /** `agg.x.inspect.instance`: scatter-gather, every instance answers with its own actors. */
  readonly inspectInstance: string;
  /** `agg.x.inspect.events.<instance>`: live actor changes of one instance (instance id token-encoded). */
  inspectEvents(instance: string): string;
  /** `agg.x.inspect.events.*`: every instance's live actor changes. */
  readonly inspectEventsWildcard: string;
  /** `agg.x.dead.<kind>`: poison messages, kept in the dead-letter stream. */
  deadLetter(kind: string): string;
  /** `agg.x.dead.>`: the dead-letter stream's subjects. */
  readonly deadLetterWildcard: string;

  /** JetStream stream, consumer and bucket names for this prefix. */
  readonly names: ResourceNames;
}

/**
 * The subjects and JetStream names for a prefix (default `agg`).
 *
 * @throws {ConfigError} when the prefix is not dot-separated tokens of `A-Z a-z 0-9 _ -`.
 * @example
 * ```ts
 * const s = createSubjects();          // or createSubjects(process.env.AGG_PREFIX)
 * s.request;                           // "agg.request"
 * s.batchEvents("01J9Z...");           // "agg.batch.01J9Z..."
 * s.names.jobsStream;                  // "AGG_JOBS"
 * ```
 */
export function createSubjects(prefix: string = DEFAULT_PREFIX): Subjects {
  assertPrefix(prefix);
  const x = `${prefix}.x`;
  const batchPrefix = `${prefix}.batch.`;
  return Object.freeze({
    prefix,
    request: `${prefix}.request`,
    status: `${prefix}.status`,
    inspect: `${prefix}.inspect`,
    batchEvents: (batchId: string) => `${batchPrefix}${assertBatchId(batchId)}`,
    batchEventsWildcard: `${prefix}.batch.*`,
    batchIdOf: (subject: string) => {
      if (!subject.startsWith(batchPrefix)) return undefined;
      const id = subject.slice(batchPrefix.length);
      return SAFE_TOKEN_PATTERN.test(id) ? id : undefined;
    },
    engineQueue: `${prefix}-engine`,
    internalWildcard: `${x}.>`,
    jobs: (partitionOrBatch: string) => `${x}.jobs.${assertToken("partition", partitionOrBatch)}`,
    jobsWildcard: `${x}.jobs.>`,
    report: (batchId: string) => `${x}.report.${assertBatchId(batchId)}`,
    reportWildcard: `${x}.report.*`,
    inspectInstance: `${x}.inspect.instance`,
    inspectEvents: (instance: string) => `${x}.inspect.events.${encodeSubjectToken(instance)}`,
    inspectEventsWildcard: `${x}.inspect.events.*`,
    deadLetter: (kind: string) => `${x}.dead.${assertToken("kind", kind)}`,
    deadLetterWildcard: `${x}.dead.>`,
    names: createResourceNames(prefix),
  });
}

/** True when `prefix` is a valid subject prefix: dot-separated tokens of `A-Z a-z 0-9 _ -`, at most 100 chars. */
export function isValidPrefix(prefix: unknown): prefix is string {
  return typeof prefix === "string" && prefix.length <= MAX_PREFIX_LENGTH && PREFIX_PATTERN.test(prefix);
}

/** True when `id` may be a batch id: 1-128 characters of `A-Z a-z 0-9 _ -`. */
export function isBatchId(id: unknown): id is string {
  return typeof id === "string" && SAFE_TOKEN_PATTERN.test(id);
}

function assertPrefix(prefix: string): void {
  if (!isValidPrefix(prefix)) {
    throw new ConfigError(
      "prefix",
      `expected dot-separated tokens of A-Z a-z 0-9 _ - (at most ${MAX_PREFIX_LENGTH} characters), got ${JSON.stringify(prefix)}`,
    );
  }
}

/**
 * Returns `batchId` when it is a valid batch id (see {@link isBatchId}).
 *
 * @throws {BadRequestError} `batchId: expected 1-128 characters of A-Z a-z 0-9 _ -, got "..."`.
 */
export function assertBatchId(batchId: string): string {
  return assertToken("batchId", batchId);
}

function assertToken(what: string, value: string): string {
  // A dot or wildcard here would address other subjects (`agg.batch.>`), so it is refused, not escaped.
  if (!isBatchId(value)) {
    throw new BadRequestError(
      `${what}: expected 1-128 characters of A-Z a-z 0-9 _ -, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/**
 * Encodes any non-empty string as one NATS subject token, injectively:
 * `A-Z a-z 0-9 _ -` stay, every other UTF-8 byte becomes `~` plus two hex
 * digits. Instance names are free text (a hostname has dots), so they are
 * encoded rather than refused.
 *
 * @example
 * ```ts
 * encodeSubjectToken("web-1.example.com-4242"); // "web-1~2Eexample~2Ecom-4242"
 * ```
 */
export function encodeSubjectToken(value: string): string {
  if (value.length === 0) throw new BadRequestError("subject token: must not be empty");
  if (/^[A-Za-z0-9_-]+$/.test(value)) return value;
  let out = "";
  for (const byte of new TextEncoder().encode(value)) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9_-]/.test(ch) ? ch : `~${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** The inverse of {@link encodeSubjectToken}. */
export function decodeSubjectToken(token: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    if (token[i] === "~") {
      bytes.push(Number.parseInt(token.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(token.charCodeAt(i));
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/**
 * The JetStream names for a prefix (see {@link ResourceNames} for the mapping).
 *
 * @throws {ConfigError} for an invalid prefix.
 */
export function createResourceNames(prefix: string = DEFAULT_PREFIX): ResourceNames {
  assertPrefix(prefix);
  const base = encodeNameBase(prefix);
  const name = (suffix: string) => {
    if (!NAME_SUFFIX_PATTERN.test(suffix)) {
      throw new ConfigError("name suffix", `expected one word of A-Z 0-9, got ${JSON.stringify(suffix)}`);
    }
    return `${base}_${suffix}`;
  };
  return Object.freeze({
    base,
    jobsStream: name("JOBS"),
    jobsConsumer: name("WORKERS"),
    deadLetterStream: name("DEAD"),
    batchesBucket: name("BATCHES"),
    leasesBucket: name("LEASES"),
    instancesBucket: name("INSTANCES"),
    name,
  });
}

/**
 * Every JetStream stream an engine may create under a prefix (the KV buckets are
 * streams named `KV_<bucket>`): what deleting a prefix's resources deletes.
 *
 * @example
 * ```ts
 * for (const stream of engineStreamNames(createResourceNames("agg"))) await jsm.streams.delete(stream);
 * ```
 */
export function engineStreamNames(names: ResourceNames): string[] {
  return [
    names.jobsStream,
    names.deadLetterStream,
    `KV_${names.leasesBucket}`,
    `KV_${names.batchesBucket}`,
    `KV_${names.instancesBucket}`,
  ];
}

function encodeNameBase(prefix: string): string {
  let out = "";
  for (const ch of prefix) {
    if (ch >= "a" && ch <= "z") out += ch.toUpperCase();
    else if ((ch >= "0" && ch <= "9") || ch === "-") out += ch;
    else if (ch === ".") out += "_";
    // `_` and uppercase letters: `_x` + hex. A lowercase `x` never follows `_` otherwise.
    else out += `_x${ch.charCodeAt(0).toString(16).padStart(2, "0")}`;
  }
  return out;
}
