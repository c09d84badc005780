import { describe, expect, it } from "vitest";
import {
  AggRequestSchema,
  BadRequestError,
  BatchEventSchema,
  createAggRequestSchema,
  DEFAULT_MAX_USERS_PER_REQUEST,
  decodeRequest,
  errorReply,
  InspectRequestSchema,
  isCalendarDay,
  StatusRequestSchema,
} from "../src";

const bytes = (text: string) => new TextEncoder().encode(text);
const json = (value: unknown) => bytes(JSON.stringify(value));

/** The message a payload is refused with; fails the test when it is accepted. */
function refusal(schema: Parameters<typeof decodeRequest>[0], data: Uint8Array): BadRequestError {
  try {
    const accepted = decodeRequest(schema, data);
    throw new Error(`accepted: ${JSON.stringify(accepted)}`);
  } catch (err) {
    if (!(err instanceof BadRequestError)) throw err;
    return err;
  }
}

describe("agg.request payloads that are accepted", () => {
  it("reads an empty object as every user with defaults left to the engine", () => {
    expect(decodeRequest(AggRequestSchema, json({}))).toEqual({});
  });

  it("keeps every field and removes duplicate users, first occurrence first", () => {
    const request = decodeRequest(
      AggRequestSchema,
      json({
        users: ["bob", "alice", "bob", "carol", "alice"],
        mode: "regenerate",
        from: "2024-02-29",
        to: "2024-03-01",
      }),
    );
    expect(request).toEqual({
      users: ["bob", "alice", "carol"],
      mode: "regenerate",
      from: "2024-02-29",
      to: "2024-03-01",
    });
  });

  it("accepts from equal to to, and exactly the maximum number of users", () => {
    expect(decodeRequest(AggRequestSchema, json({ from: "2025-01-01", to: "2025-01-01" }))).toEqual({
      from: "2025-01-01",
      to: "2025-01-01",
    });
    const users = Array.from({ length: DEFAULT_MAX_USERS_PER_REQUEST }, (_, i) => `u${i}`);
    expect(decodeRequest(AggRequestSchema, json({ users })).users).toHaveLength(
      DEFAULT_MAX_USERS_PER_REQUEST,
    );
  });

  it("accepts a user id of exactly 255 characters and any unicode", () => {
    const long = "x".repeat(255);
    expect(decodeRequest(AggRequestSchema, json({ users: [long, "zoë", "用户"] })).users).toEqual([
      long,
      "zoë",
      "用户",
    ]);
  });
});

/**
 * The fuzz list of issue #3 ("Validation"): every malformed request is a
 * BAD_REQUEST whose message names the field (or the payload) and the problem.
 */
const malformedRequests: { name: string; data: Uint8Array; message: RegExp }[] = [
  { name: "bad JSON", data: bytes('{"users": ["a",'), message: /^payload is not valid JSON/ },
  { name: "trailing garbage", data: bytes("{} x"), message: /^payload is not valid JSON/ },
  { name: "single quotes", data: bytes("{'users': []}"), message: /^payload is not valid JSON/ },
  { name: "empty payload", data: new Uint8Array(0), message: /^payload is empty/ },
  { name: "whitespace only", data: bytes("  \n "), message: /^payload is empty/ },
  {
    name: "an array",
    data: json([{ users: ["a"] }]),
    message: /^payload must be a JSON object, got an array of 1/,
  },
  { name: "null", data: bytes("null"), message: /^payload must be a JSON object, got null/ },
  { name: "a number", data: bytes("42"), message: /^payload must be a JSON object, got 42/ },
  { name: "a string", data: json("users"), message: /^payload must be a JSON object, got "users"/ },
  { name: "true", data: bytes("true"), message: /^payload must be a JSON object, got true/ },
  {
    name: "invalid UTF-8",
    data: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    message: /not valid UTF-8/,
  },
  {
    name: "a lone surrogate byte sequence",
    data: new Uint8Array([0x7b, 0xed, 0xa0, 0x80, 0x7d]),
    message: /UTF-8/,
  },
  {
    name: "huge payload",
    data: json({ users: ["x".repeat(1024 * 1024)] }),
    message: /^payload is \d+ bytes; the limit is 1048576/,
  },
  { name: "unknown field user", data: json({ user: ["alice"] }), message: /^unknown field "user"$/ },
  {
    name: "two unknown fields",
    data: json({ users: ["a"], usres: 1, Mode: "x" }),
    message: /^unknown fields "usres", "Mode"$/,
  },
  {
    name: "__proto__ field",
    data: bytes('{"__proto__": {"users": ["a"]}}'),
    message: /unknown field "__proto__"/,
  },
  {
    name: "users a string",
    data: json({ users: "alice" }),
    message: /^users: expected an array of user ids, got "alice"/,
  },
  {
    name: "users null",
    data: json({ users: null }),
    message: /^users: expected an array of user ids, got null/,
  },
  {
    name: "users an object",
    data: json({ users: { a: 1 } }),
    message: /^users: expected an array of user ids, got an object/,
  },
  {
    name: "empty users",
    data: json({ users: [] }),
    message: /^users must not be empty; omit it to mean every user$/,
  },
  {
    name: "a number among users",
    data: json({ users: ["a", 7] }),
    message: /^users\[1\]: expected a user id string, got 7/,
  },
  { name: "an empty user id", data: json({ users: ["a", ""] }), message: /^users\[1\]: must not be empty/ },
  {
    name: "a user id too long",
    data: json({ users: ["x".repeat(256)] }),
    message: /^users\[0\]: at most 255 characters, got 256/,
  },
  {
    name: "oversized users list",
    data: json({ users: Array.from({ length: DEFAULT_MAX_USERS_PER_REQUEST + 1 }, (_, i) => `u${i}`) }),
    message: /^users: at most 10000 users per request, got 10001/,
  },
  {
    name: "unknown mode",
    data: json({ mode: "all" }),
    message: /^mode: expected "missing" or "regenerate", got "all"/,
  },
  {
    name: "mode in capitals",
    data: json({ mode: "MISSING" }),
    message: /^mode: expected "missing" or "regenerate"/,
  },
  {
    name: "mode a number",
    data: json({ mode: 1 }),
    message: /^mode: expected "missing" or "regenerate", got 1/,
  },
  {
    name: "month 13",
    data: json({ from: "2025-13-01" }),
    message: /^from: "2025-13-01" is not a calendar day/,
  },
  {
    name: "February 30",
    data: json({ to: "2025-02-30" }),
    message: /^to: "2025-02-30" is not a calendar day/,
  },
  { name: "February 29 of a common year", data: json({ from: "2023-02-29" }), message: /not a calendar day/ },
  { name: "February 29 of 1900", data: json({ from: "1900-02-29" }), message: /not a calendar day/ },
  {
    name: "day zero",
    data: json({ from: "2025-01-00" }),
    message: /^from: "2025-01-00" is not a calendar day/,
  },
  { name: "year zero", data: json({ from: "0000-01-01" }), message: /not a calendar day/ },
  {
    name: "a timestamp, not a day",
    data: json({ from: "2025-01-01T00:00:00Z" }),
    message: /^from: expected YYYY-MM-DD, got "2025-01-01T00:00:00Z"/,
  },
  {
    name: "a day without padding",
    data: json({ to: "2025-1-1" }),
    message: /^to: expected YYYY-MM-DD, got "2025-1-1"/,
  },
  {
    name: "a day as a number",
    data: json({ from: 20250101 }),
    message: /^from: expected a YYYY-MM-DD string, got 20250101/,
  },
  { name: "a day as null", data: json({ to: null }), message: /^to: expected a YYYY-MM-DD string, got null/ },
  {
    name: "from after to",
    data: json({ from: "2025-02-01", to: "2025-01-31" }),
    message: /^from: "2025-02-01" is after to "2025-01-31"/,
  },
];

describe("malformed agg.request payloads (issue #3 fuzz list)", () => {
  it.each(malformedRequests)("$name -> BAD_REQUEST naming the problem", ({ data, message }) => {
    const err = refusal(AggRequestSchema, data);
    expect(err.code).toBe("BAD_REQUEST");
    expect(err.message).toMatch(message);
    // What goes on the wire: the same code and message, never a stack.
    const reply = errorReply(err);
    expect(reply).toEqual({ error: { code: "BAD_REQUEST", message: err.message } });
    expect(JSON.stringify(reply)).not.toMatch(/\n\s+at /);
  });

  it("names several problems at once, at most five, and counts the rest", () => {
    const err = refusal(AggRequestSchema, json({ users: [1, 2, 3, 4, 5, 6, 7], mode: "x" }));
    expect(err.message).toContain("users[0]: expected a user id string, got 1");
    expect(err.message).toMatch(/and \d+ more problems$/);
  });

  it("never echoes a huge value back", () => {
    const err = refusal(AggRequestSchema, json({ from: "9".repeat(100_000) }));
    expect(err.message.length).toBeLessThan(200);
  });

  it("survives deeply nested JSON", () => {
    const depth = 200_000;
    const err = refusal(AggRequestSchema, bytes(`{"users":${"[".repeat(depth)}${"]".repeat(depth)}}`));
    expect(err.message).toMatch(/^users\[0\]: expected a user id string, got an array of 1/);
  });

  it("honours a configured users limit and payload limit", () => {
    const schema = createAggRequestSchema({ maxUsersPerRequest: 2 });
    expect(refusal(schema, json({ users: ["a", "b", "c"] })).message).toBe(
      "users: at most 2 users per request, got 3",
    );
    // Duplicates count before they are removed: the limit bounds the payload, not the batch.
    expect(refusal(schema, json({ users: ["a", "a", "a"] })).message).toMatch(/at most 2 users/);
    expect(() => decodeRequest(AggRequestSchema, json({}), { maxBytes: 1 })).toThrow(
      "payload is 2 bytes; the limit is 1",
    );
    expect(() => createAggRequestSchema({ maxUsersPerRequest: 0 })).toThrow(RangeError);
  });
});

describe("agg.status and agg.inspect payloads", () => {
  it("accepts a batch id and refuses anything else", () => {
    expect(decodeRequest(StatusRequestSchema, json({ batchId: "01J9ZK_x-1" }))).toEqual({
      batchId: "01J9ZK_x-1",
    });
    expect(refusal(StatusRequestSchema, json({})).message).toBe("batchId: required");
    expect(refusal(StatusRequestSchema, new Uint8Array(0)).message).toMatch(/^payload is empty/);
    expect(refusal(StatusRequestSchema, json({ batchId: 5 })).message).toBe(
      "batchId: expected a batch id string, got 5",
    );
    expect(refusal(StatusRequestSchema, json({ batchId: "a.b" })).message).toMatch(
      /^batchId: expected 1-128 characters of A-Z a-z 0-9 _ -, got "a\.b"/,
    );
    expect(refusal(StatusRequestSchema, json({ batchId: ">" })).message).toMatch(/^batchId: expected 1-128/);
    expect(refusal(StatusRequestSchema, json({ batchId: "" })).message).toMatch(/^batchId: expected 1-128/);
    expect(refusal(StatusRequestSchema, json({ batchId: "a", extra: 1 })).message).toBe(
      'unknown field "extra"',
    );
  });

  it("accepts {} and known filters on agg.inspect, refuses unknown fields", () => {
    expect(decodeRequest(InspectRequestSchema, json({}))).toEqual({});
    expect(decodeRequest(InspectRequestSchema, json({ userId: "alice", machine: "userAggregator" }))).toEqual(
      {
        userId: "alice",
        machine: "userAggregator",
      },
    );
    expect(refusal(InspectRequestSchema, json({ all: true })).message).toBe('unknown field "all"');
    expect(refusal(InspectRequestSchema, json([])).message).toMatch(/^payload must be a JSON object/);
  });
});

describe("calendar days", () => {
  it.each([
    ["2024-02-29", true],
    ["2000-02-29", true],
    ["2100-02-29", false],
    ["2025-04-31", false],
    ["2025-12-31", true],
    ["0001-01-01", true],
    ["9999-12-31", true],
    ["2025-00-10", false],
    [" 2025-01-01", false],
  ])("%s -> %s", (day, ok) => {
    expect(isCalendarDay(day)).toBe(ok);
  });
});

describe("batch events", () => {
  const status = { batchId: "b1", users: 3, done: 1, failed: 0, skipped: 1 };

  it("accepts progress and a terminal final event, keeping fields a newer engine adds", () => {
    expect(BatchEventSchema.parse({ type: "progress", state: "running", ...status, eta: 5 })).toMatchObject({
      eta: 5,
    });
    expect(BatchEventSchema.parse({ type: "final", ...status, state: "failed" }).state).toBe("failed");
  });

  it("refuses a final event that is still running", () => {
    expect(BatchEventSchema.safeParse({ type: "final", ...status, state: "running" }).success).toBe(false);
  });
});
