import { describe, expect, it } from "vitest";
import {
  AggError,
  BadRequestError,
  BusyError,
  ConfigError,
  createResourceNames,
  createSubjects,
  decodeSubjectToken,
  ERROR_CODES,
  encodeSubjectToken,
  errorFromReply,
  errorReply,
  InternalError,
  isErrorReply,
  NotFoundError,
  UnavailableError,
  UnknownUserError,
} from "../src";

describe("createSubjects", () => {
  it("gives the contract's subjects for the default prefix", () => {
    const s = createSubjects();
    expect(s.request).toBe("agg.request");
    expect(s.status).toBe("agg.status");
    expect(s.inspect).toBe("agg.inspect");
    expect(s.batchEvents("01HXYZ")).toBe("agg.batch.01HXYZ");
    expect(s.batchEventsWildcard).toBe("agg.batch.*");
    expect(s.batchIdOf("agg.batch.01HXYZ")).toBe("01HXYZ");
    expect(s.batchIdOf("agg.status")).toBeUndefined();
  });

  it("keeps internal subjects under <prefix>.x", () => {
    const s = createSubjects("agg");
    expect(s.jobs("p3")).toBe("agg.x.jobs.p3");
    expect(s.jobsWildcard).toBe("agg.x.jobs.>");
    expect(s.report("b1")).toBe("agg.x.report.b1");
    expect(s.reportWildcard).toBe("agg.x.report.*");
    expect(s.inspectInstance).toBe("agg.x.inspect.instance");
    expect(s.inspectEvents("web-1")).toBe("agg.x.inspect.events.web-1");
    expect(s.inspectEventsWildcard).toBe("agg.x.inspect.events.*");
    expect(s.deadLetter("jobs")).toBe("agg.x.dead.jobs");
    expect(s.internalWildcard).toBe("agg.x.>");
    for (const subject of [
      s.jobs("p"),
      s.report("b"),
      s.inspectInstance,
      s.inspectEvents("i"),
      s.deadLetter("k"),
    ]) {
      expect(subject.startsWith("agg.x.")).toBe(true);
    }
  });

  it("uses any valid prefix, multi-token included", () => {
    const s = createSubjects("acme.agg-2");
    expect(s.request).toBe("acme.agg-2.request");
    expect(s.batchEvents("b")).toBe("acme.agg-2.batch.b");
    expect(s.jobsWildcard).toBe("acme.agg-2.x.jobs.>");
  });

  it.each(["", "agg.", ".agg", "a..b", "agg.*", "agg.>", "a b", "agg\n", "ä", "x".repeat(101)])(
    "refuses the prefix %j",
    (prefix) => {
      expect(() => createSubjects(prefix)).toThrow(ConfigError);
    },
  );

  it.each(["a.b", "*", ">", "", "a b", "x".repeat(129), "b\t"])(
    "refuses the batch id %j in subjects",
    (id) => {
      const s = createSubjects();
      expect(() => s.batchEvents(id)).toThrow(BadRequestError);
      expect(() => s.report(id)).toThrow(BadRequestError);
      expect(() => s.jobs(id)).toThrow(BadRequestError);
    },
  );

  it("encodes instance names (hostnames have dots) injectively into one token", () => {
    const s = createSubjects();
    const names = ["web-1.example.com-4242", "web-1~2Eexample", "web_1", "a b", "ünï", "~"];
    const tokens = names.map((n) => encodeSubjectToken(n));
    for (const t of tokens) expect(t).toMatch(/^[A-Za-z0-9_~-]+$/);
    expect(new Set(tokens).size).toBe(names.length);
    expect(tokens.map(decodeSubjectToken)).toEqual(names);
    expect(s.inspectEvents("web-1.example.com-4242")).toBe("agg.x.inspect.events.web-1~2Eexample~2Ecom-4242");
  });
});

describe("JetStream names", () => {
  it("derives names from the prefix", () => {
    const n = createResourceNames("agg");
    expect(n.jobsStream).toBe("AGG_JOBS");
    expect(n.jobsConsumer).toBe("AGG_WORKERS");
    expect(n.deadLetterStream).toBe("AGG_DEAD");
    expect(n.batchesBucket).toBe("AGG_BATCHES");
    expect(n.name("RESULTS")).toBe("AGG_RESULTS");
    expect(() => n.name("A_B")).toThrow(ConfigError);
    expect(createSubjects("acme.agg").names.jobsStream).toBe("ACME_AGG_JOBS");
  });

  it("never gives two prefixes the same names", () => {
    const prefixes = [
      "agg",
      "AGG",
      "Agg",
      "agg_x",
      "agg.x",
      "agg-x",
      "agg.x_",
      "agg_.x",
      "agg._x",
      "a.gg",
      "ag.g",
      "agg_x5f",
    ];
    const seen = new Map<string, string>();
    for (const prefix of prefixes) {
      const names = createResourceNames(prefix);
      for (const name of [names.jobsStream, names.jobsConsumer, names.batchesBucket, names.name("JOBS")]) {
        // KV bucket and stream names allow only these characters.
        expect(name).toMatch(/^[A-Za-z0-9_-]+$/);
      }
      const other = seen.get(names.jobsStream);
      expect(other, `${prefix} collides with ${other}`).toBeUndefined();
      seen.set(names.jobsStream, prefix);
    }
  });
});

describe("errors", () => {
  it("maps each class to its code and back", () => {
    const errors: AggError[] = [
      new BadRequestError("b"),
      new UnknownUserError("u"),
      new BusyError("busy"),
      new UnavailableError("down"),
      new NotFoundError("nf"),
      new InternalError("oops"),
    ];
    expect(errors.map((e) => e.code)).toEqual(ERROR_CODES);
    for (const err of errors) {
      const reply = errorReply(err);
      expect(isErrorReply(reply)).toBe(true);
      const back = errorFromReply(reply);
      expect(back).toBeInstanceOf(err.constructor);
      expect(back).toBeInstanceOf(AggError);
      expect(back.message).toBe(err.message);
      expect(back.name).toBe(err.name);
    }
  });

  it("turns an unknown error into INTERNAL with a generic message, never its text or stack", () => {
    const reply = errorReply(new Error('relation "summaries" does not exist at /srv/secret.ts:12'));
    expect(reply.error.code).toBe("INTERNAL");
    expect(reply.error.message).not.toMatch(/summaries|secret|at /);
    expect(errorReply("a string").error.code).toBe("INTERNAL");
    expect(errorReply(undefined).error.code).toBe("INTERNAL");
  });

  it("keeps the cause for logs but not on the wire", () => {
    const cause = new Error("pg: connection refused");
    const err = new UnavailableError("database unavailable", { cause });
    expect(err.cause).toBe(cause);
    expect(JSON.stringify(errorReply(err))).not.toContain("pg:");
  });

  it("recognises error replies only by their shape", () => {
    expect(isErrorReply({ error: { code: "BUSY", message: "m" } })).toBe(true);
    expect(isErrorReply({ error: "BUSY" })).toBe(false);
    expect(isErrorReply({ batchId: "b", users: 1 })).toBe(false);
    expect(isErrorReply(null)).toBe(false);
    expect(errorFromReply({ error: { code: "TEAPOT", message: "short and stout" } })).toMatchObject({
      code: "INTERNAL",
      message: "TEAPOT: short and stout",
    });
  });
});
