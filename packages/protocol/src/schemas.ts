import { z } from "zod";
import { SAFE_TOKEN_PATTERN } from "./subjects";

/*
 * Payload schemas of the contract. Requests are strict (an unknown field is a
 * BAD_REQUEST: a misspelt filter must never widen a request to every user).
 * Replies and events are loose: the contract may gain fields, and an older
 * client must keep reading a newer engine's replies.
 *
 * Messages are written for the requester. They name the problem; the field
 * is prefixed by `formatIssues` (decode.ts) from the issue's path, unless
 * the message already starts with it.
 */

/** Default bound on `users` in one `agg.request` (issue 7: limits that protect the cluster). */
export const DEFAULT_MAX_USERS_PER_REQUEST = 10_000;

/** Longest user id accepted (Wakapi's ids are usernames). */
export const MAX_USER_ID_LENGTH = 255;

/** How a batch treats days that already have summaries. */
export const AGG_MODES = ["missing", "regenerate"] as const;
/** `missing`: summarise only days without a summary; `regenerate`: replace every day in range. */
export type AggMode = (typeof AGG_MODES)[number];

/** Every state a batch can be in. */
export const BATCH_STATES = ["running", "completed", "failed", "cancelled"] as const;
/** A batch's state; every state but `running` is terminal. */
export type BatchState = (typeof BATCH_STATES)[number];
/** The states a batch ends in. */
export const TERMINAL_BATCH_STATES = ["completed", "failed", "cancelled"] as const;
/** A state a batch ends in. */
export type TerminalBatchState = (typeof TERMINAL_BATCH_STATES)[number];

/** True when `state` is one a batch ends in. */
export function isTerminalState(state: BatchState): state is TerminalBatchState {
  return state !== "running";
}

/**
 * A short description of a received value for messages: strings and numbers
 * quoted (truncated), containers by kind. Never dumps a large payload back.
 */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === "object") return "an object";
  if (typeof value === "string") {
    const shown = value.length > 40 ? `${value.slice(0, 40)}...` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return typeof value;
}

const DAY_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True when `value` is a `YYYY-MM-DD` string naming a real day of the Gregorian calendar (years 0001-9999). */
export function isCalendarDay(value: unknown): value is string {
  if (typeof value !== "string") return false;
  const m = DAY_PATTERN.exec(value);
  if (!m) return false;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
  return day <= days;
}

const typeError =
  (expected: string) =>
  (issue: { input?: unknown }): string =>
    issue.input === undefined ? "required" : `expected ${expected}, got ${describeValue(issue.input)}`;

/** A `YYYY-MM-DD` calendar day (`"2025-02-29"` is refused: not a day). */
export const DaySchema = z.string({ error: typeError("a YYYY-MM-DD string") }).superRefine((value, ctx) => {
  if (!DAY_PATTERN.test(value)) {
    ctx.addIssue({ code: "custom", message: `expected YYYY-MM-DD, got ${describeValue(value)}` });
  } else if (!isCalendarDay(value)) {
    ctx.addIssue({ code: "custom", message: `${JSON.stringify(value)} is not a calendar day` });
  }
});

/** A user id: a non-empty string of at most 255 characters. */
export const UserIdSchema = z.string({ error: typeError("a user id string") }).superRefine((value, ctx) => {
  if (value.length === 0) ctx.addIssue({ code: "custom", message: "must not be empty" });
  else if (value.length > MAX_USER_ID_LENGTH) {
    ctx.addIssue({
      code: "custom",
      message: `at most ${MAX_USER_ID_LENGTH} characters, got ${value.length}`,
    });
  }
});

/** A batch id: 1-128 characters of `A-Z a-z 0-9 _ -` (one NATS subject token). */
export const BatchIdSchema = z.string({ error: typeError("a batch id string") }).superRefine((value, ctx) => {
  if (!SAFE_TOKEN_PATTERN.test(value)) {
    ctx.addIssue({
      code: "custom",
      message: `expected 1-128 characters of A-Z a-z 0-9 _ -, got ${describeValue(value)}`,
    });
  }
});

const ModeSchema = z.enum(AGG_MODES, {
  error: (issue) =>
    issue.input === undefined
      ? "required"
      : `expected "missing" or "regenerate", got ${describeValue(issue.input)}`,
});

const unknownFields = (issue: { code?: string; keys?: readonly string[] }): string | undefined => {
  if (issue.code !== "unrecognized_keys" || !issue.keys) return undefined;
  const names = issue.keys.map((k) => JSON.stringify(k)).join(", ");
  return `unknown field${issue.keys.length > 1 ? "s" : ""} ${names}`;
};

/** Options of {@link createAggRequestSchema}. */
export interface AggRequestSchemaOptions {
  /** Most entries `users` may have (before duplicates are removed). Default {@link DEFAULT_MAX_USERS_PER_REQUEST}. */
  readonly maxUsersPerRequest?: number;
}

/**
 * The `agg.request` schema with configurable limits. Parsing removes
 * duplicate users (first occurrence wins) and checks `from <= to`.
 *
 * @example
 * ```ts
 * const schema = createAggRequestSchema({ maxUsersPerRequest: config.maxUsers });
 * const request = decodeRequest(schema, msg.data);
 * ```
 */
export function createAggRequestSchema(options: AggRequestSchemaOptions = {}) {
  const maxUsers = options.maxUsersPerRequest ?? DEFAULT_MAX_USERS_PER_REQUEST;
  if (!Number.isSafeInteger(maxUsers) || maxUsers < 1) {
    throw new RangeError(`maxUsersPerRequest must be a positive integer, got ${maxUsers}`);
  }
  const users = z
    .array(UserIdSchema, { error: typeError("an array of user ids") })
    .superRefine((list, ctx) => {
      if (list.length === 0) {
        ctx.addIssue({ code: "custom", message: "users must not be empty; omit it to mean every user" });
      } else if (list.length > maxUsers) {
        ctx.addIssue({
          code: "custom",
          message: `at most ${maxUsers} users per request, got ${list.length}`,
        });
      }
    })
    .transform((list) => [...new Set(list)]);
  return z
    .strictObject(
      {
        users: users.optional(),
        mode: ModeSchema.optional(),
        from: DaySchema.optional(),
        to: DaySchema.optional(),
      },
      { error: unknownFields },
    )
    .superRefine((request, ctx) => {
      // Days compare as strings: YYYY-MM-DD sorts chronologically.
      if (request.from !== undefined && request.to !== undefined && request.from > request.to) {
        ctx.addIssue({
          code: "custom",
          path: ["from"],
          message: `${JSON.stringify(request.from)} is after to ${JSON.stringify(request.to)}`,
        });
      }
    });
}

/** The `agg.request` schema with the default limits (see {@link createAggRequestSchema}). */
export const AggRequestSchema = createAggRequestSchema();
/** A validated `agg.request`: no `users` means every user; `users` is deduplicated and non-empty. */
export type AggRequest = z.output<typeof AggRequestSchema>;
/** What a client may send on `agg.request` (before validation). */
export type AggRequestInput = z.input<typeof AggRequestSchema>;

/** `agg.status` payload: `{"batchId": string}`. */
export const StatusRequestSchema = z.strictObject({ batchId: BatchIdSchema }, { error: unknownFields });
/** A validated `agg.status` request. */
export type StatusRequest = z.output<typeof StatusRequestSchema>;

/**
 * `agg.inspect` payload: `{}`, or filters that narrow the actors listed
 * (every given filter must match; instances are always all listed).
 */
export const InspectRequestSchema = z.strictObject(
  {
    instance: z.string({ error: typeError("an instance id string") }).optional(),
    machine: z.string({ error: typeError("a machine name string") }).optional(),
    userId: UserIdSchema.optional(),
    batchId: BatchIdSchema.optional(),
  },
  { error: unknownFields },
);
/** A validated `agg.inspect` request. */
export type InspectRequest = z.output<typeof InspectRequestSchema>;

const Count = z.number().int().nonnegative();

/** `agg.request` reply: the batch is accepted and durable. `users` counts every user it covers (unknown ones included). */
export const RequestAcceptedSchema = z.looseObject({ batchId: z.string(), users: Count });
/** `agg.request` reply. */
export type RequestAccepted = z.output<typeof RequestAcceptedSchema>;

/** Shape shared by `agg.status` replies and batch events. */
const statusShape = {
  batchId: z.string(),
  state: z.enum(BATCH_STATES),
  users: Count,
  done: Count,
  failed: Count,
  skipped: Count,
};

/** `agg.status` reply. `completed` means every user was done or skipped. */
export const BatchStatusSchema = z.looseObject(statusShape);
/** `agg.status` reply. */
export type BatchStatus = z.output<typeof BatchStatusSchema>;

/** A progress event on `agg.batch.<batchId>`: the status so far. */
export const BatchProgressEventSchema = z.looseObject({ ...statusShape, type: z.literal("progress") });
/** The one final event on `agg.batch.<batchId>`: the `agg.status` object with a terminal state. */
export const BatchFinalEventSchema = z.looseObject({
  ...statusShape,
  type: z.literal("final"),
  state: z.enum(TERMINAL_BATCH_STATES),
});
/** Any event on `agg.batch.<batchId>`. */
export const BatchEventSchema = z.discriminatedUnion("type", [
  BatchProgressEventSchema,
  BatchFinalEventSchema,
]);
/** A progress event. */
export type BatchProgressEvent = z.output<typeof BatchProgressEventSchema>;
/** The final event. */
export type BatchFinalEvent = z.output<typeof BatchFinalEventSchema>;
/** Any event on `agg.batch.<batchId>`. */
export type BatchEvent = z.output<typeof BatchEventSchema>;

/** One engine instance in an `agg.inspect` reply (engines add fields such as `startedAt`). */
export const InstanceInfoSchema = z.looseObject({ id: z.string() });
/** One engine instance in an `agg.inspect` reply. */
export type InstanceInfo = z.output<typeof InstanceInfoSchema>;

/**
 * One live actor in an `agg.inspect` reply. `state` is the machine's state
 * value as a string (nested states dotted: `"processingJob.aggregating"`,
 * see {@link formatStateValue}).
 */
export const ActorInfoSchema = z.looseObject({
  id: z.string(),
  machine: z.string(),
  state: z.string(),
  instance: z.string(),
  userId: z.string().optional(),
  batchId: z.string().optional(),
});
/** One live actor in an `agg.inspect` reply. */
export type ActorInfo = z.output<typeof ActorInfoSchema>;

/** `agg.inspect` reply: every live actor of every engine instance. */
export const InspectReplySchema = z.looseObject({
  instances: z.array(InstanceInfoSchema),
  actors: z.array(ActorInfoSchema),
});
/** `agg.inspect` reply. */
export type InspectReply = z.output<typeof InspectReplySchema>;

/** True when `actor` passes every filter given in an `agg.inspect` request. */
export function matchesInspectFilter(actor: ActorInfo, filter: InspectRequest): boolean {
  return (
    (filter.instance === undefined || actor.instance === filter.instance) &&
    (filter.machine === undefined || actor.machine === filter.machine) &&
    (filter.userId === undefined || actor.userId === filter.userId) &&
    (filter.batchId === undefined || actor.batchId === filter.batchId)
  );
}

/**
 * An XState state value as one string: `"idle"`, `{ a: "b" }` -> `"a.b"`,
 * parallel regions joined by `,` (`{ a: "x", b: "y" }` -> `"a.x,b.y"`).
 */
export function formatStateValue(value: unknown): string {
  if (typeof value === "string") return value;
  if (value && typeof value === "object") {
    return Object.entries(value as Record<string, unknown>)
      .map(([key, inner]) => {
        const rest = formatStateValue(inner);
        return rest ? `${key}.${rest}` : key;
      })
      .join(",");
  }
  return "";
}

/**
 * A live change of one instance's actors, on `agg.x.inspect.events.<instance>`
 * (the inspector's live view): an actor appeared or changed, or it stopped.
 */
export const ActorEventSchema = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("actor.updated"), actor: ActorInfoSchema }),
  z.looseObject({ type: z.literal("actor.stopped"), id: z.string(), instance: z.string() }),
]);
/** A live change of one instance's actors. */
export type ActorEvent = z.output<typeof ActorEventSchema>;

/**
 * A user job on `agg.x.jobs.<partition>` (engine to engine, through JetStream).
 * Loose, so instances of different versions can share a stream during an upgrade.
 */
export const JobMessageSchema = z.looseObject({
  batchId: BatchIdSchema,
  userId: UserIdSchema,
  mode: z.enum(AGG_MODES),
  from: DaySchema.optional(),
  to: DaySchema.optional(),
});
/** A user job message. */
export type JobMessage = z.output<typeof JobMessageSchema>;

/** How one user's part of a batch ended. */
export const USER_OUTCOMES = ["done", "failed", "skipped"] as const;
/** How one user's part of a batch ended. */
export type UserOutcome = (typeof USER_OUTCOMES)[number];

/** A user's outcome on `agg.x.report.<batchId>`, sent to the batch's coordinator. */
export const UserReportSchema = z.looseObject({
  batchId: BatchIdSchema,
  userId: UserIdSchema,
  outcome: z.enum(USER_OUTCOMES),
  reason: z.string().optional(),
  instance: z.string().optional(),
});
/** A user's outcome report. */
export type UserReport = z.output<typeof UserReportSchema>;
