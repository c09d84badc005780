import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { findNatsServerBinary } from "../../../test/support/src/nats-server";
import {
  ConfigError,
  clientInboxPrefix,
  clientPermissions,
  createSubjects,
  engineInboxPrefix,
  enginePermissions,
  inspectorPermissions,
  type NatsPermissions,
  natsServerAuthorizationConfig,
} from "../src";

/** nats-server's subject matching: `*` is one token, a final `>` one or more. */
function matches(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return s.length > i;
    if (i >= s.length || (p[i] !== "*" && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}

const allowed = (allow: readonly string[], subject: string) => allow.some((a) => matches(a, subject));

describe("enginePermissions", () => {
  it("grants exactly the engine's subjects, streams, consumer and bucket for the prefix", () => {
    expect(enginePermissions("agg")).toEqual({
      publish: {
        allow: [
          "agg.batch.*",
          "agg.x.>",
          "$JS.API.INFO",
          "$JS.API.STREAM.INFO.AGG_JOBS",
          "$JS.API.STREAM.CREATE.AGG_JOBS",
          "$JS.API.STREAM.UPDATE.AGG_JOBS",
          "$JS.API.CONSUMER.INFO.AGG_JOBS.AGG_WORKERS",
          "$JS.API.CONSUMER.CREATE.AGG_JOBS.AGG_WORKERS",
          "$JS.API.CONSUMER.MSG.NEXT.AGG_JOBS.AGG_WORKERS",
          "$JS.ACK.AGG_JOBS.AGG_WORKERS.>",
          "$JS.API.STREAM.INFO.AGG_DEAD",
          "$JS.API.STREAM.CREATE.AGG_DEAD",
          "$JS.API.STREAM.INFO.KV_AGG_LEASES",
          "$JS.API.STREAM.CREATE.KV_AGG_LEASES",
          "$JS.API.STREAM.UPDATE.KV_AGG_LEASES",
          "$JS.API.STREAM.PURGE.KV_AGG_LEASES",
          "$JS.API.DIRECT.GET.KV_AGG_LEASES.$KV.AGG_LEASES.>",
          "$KV.AGG_LEASES.>",
        ],
      },
      subscribe: { allow: ["agg.request", "agg.status", "agg.inspect", "agg.summary", "agg.x.>"] },
      allowResponses: true,
    });
  });

  it("derives every name from the prefix", () => {
    const p = enginePermissions("acme.agg");
    expect(p.publish.allow).toContain("$JS.API.CONSUMER.MSG.NEXT.ACME_AGG_JOBS.ACME_AGG_WORKERS");
    expect(p.publish.allow).toContain("$KV.ACME_AGG_LEASES.>");
    expect(p.subscribe.allow).toContain("acme.agg.x.>");
    // Every entry but the account-wide JetStream check names this prefix's subjects or objects.
    for (const entry of [...p.publish.allow, ...p.subscribe.allow]) {
      expect(
        entry === "$JS.API.INFO" || entry.startsWith("acme.agg.") || entry.includes("ACME_AGG_"),
        entry,
      ).toBe(true);
    }
  });

  it("never grants the whole JetStream API, deletes, purges or other streams", () => {
    const pub = enginePermissions("agg").publish.allow;
    for (const forbidden of [
      "$JS.API.STREAM.DELETE.AGG_JOBS",
      "$JS.API.STREAM.PURGE.AGG_JOBS",
      "$JS.API.CONSUMER.DELETE.AGG_JOBS.AGG_WORKERS",
      "$JS.API.STREAM.INFO.OTHER",
      "$JS.API.STREAM.LIST",
      "$KV.OTHER.key",
      "_INBOX_alice.abc.1",
      "other.request",
    ]) {
      expect(allowed(pub, forbidden), forbidden).toBe(false);
    }
    expect(pub.some((a) => a.endsWith("$JS.API.>") || a === ">")).toBe(false);
  });

  it("takes its replies under its own inbox prefix, inside the internal namespace", () => {
    expect(engineInboxPrefix("agg")).toBe("agg.x.inbox");
    const p = enginePermissions("agg");
    expect(allowed(p.subscribe.allow, "agg.x.inbox.Nuid123.7")).toBe(true);
    expect(allowed(p.subscribe.allow, "_INBOX.Nuid123.7")).toBe(false);
    // Another inbox prefix is granted in addition.
    expect(enginePermissions("agg", { inboxPrefix: "_INBOX_engine" }).subscribe.allow).toContain(
      "_INBOX_engine.>",
    );
    expect(enginePermissions("agg", { inboxPrefix: "agg.x.inbox" })).toEqual(enginePermissions("agg"));
  });
});

describe("clientPermissions", () => {
  const alice = clientPermissions("agg", { inboxPrefix: clientInboxPrefix("alice") });

  it("grants the contract's requests, the batch events and the client's own inbox", () => {
    expect(alice).toEqual({
      publish: { allow: ["agg.request", "agg.status", "agg.inspect", "agg.summary"] },
      subscribe: { allow: ["agg.batch.*", "_INBOX_alice.>"] },
    });
    expect(clientPermissions("agg").subscribe.allow).toContain("_INBOX_client.>");
  });

  it("matches the engine: what a client sends the engine takes, what the engine announces a client reads", () => {
    const engine = enginePermissions("agg");
    for (const subject of alice.publish.allow) expect(allowed(engine.subscribe.allow, subject)).toBe(true);
    expect(allowed(engine.publish.allow, "agg.batch.b1")).toBe(true);
    expect(allowed(alice.subscribe.allow, "agg.batch.b1")).toBe(true);
  });

  it("reaches nothing internal, no JetStream, no other inbox", () => {
    const s = createSubjects("agg");
    const internal = [
      s.jobs("b1"),
      s.report("b1"),
      s.inspectInstance,
      s.inspectEvents("web-1"),
      s.deadLetter("jobs"),
      "agg.x.presence",
      `${engineInboxPrefix("agg")}.Nuid.1`,
      "$JS.API.STREAM.INFO.AGG_JOBS",
      "$JS.API.CONSUMER.MSG.NEXT.AGG_JOBS.AGG_WORKERS",
      "$JS.ACK.AGG_JOBS.AGG_WORKERS.1.1.1.1.0",
      "$KV.AGG_LEASES.u.x",
      "_INBOX.Nuid.1",
      "_INBOX_bob.Nuid.1",
      "_INBOX_alice_2.Nuid.1",
    ];
    for (const subject of internal) {
      expect(allowed(alice.publish.allow, subject), `publish ${subject}`).toBe(false);
      expect(allowed(alice.subscribe.allow, subject), `subscribe ${subject}`).toBe(false);
    }
    expect(alice.allowResponses).toBeUndefined();
  });
});

describe("inspectorPermissions", () => {
  it("grants agg.inspect, the live actor events and its inbox", () => {
    expect(inspectorPermissions("agg")).toEqual({
      publish: { allow: ["agg.inspect"] },
      subscribe: { allow: ["agg.x.inspect.events.*", "_INBOX_inspector.>"] },
    });
  });
});

describe("inbox prefixes", () => {
  it("makes one token per client name, refusing names that would share or widen an inbox", () => {
    expect(clientInboxPrefix("alice_2-b")).toBe("_INBOX_alice_2-b");
    for (const bad of ["", "a.b", "a*", "a>", "a b", "x".repeat(65)]) {
      expect(() => clientInboxPrefix(bad), bad).toThrow(ConfigError);
    }
  });

  it("refuses an inbox prefix with wildcards or empty tokens", () => {
    for (const bad of ["_INBOX.>", "_INBOX.*", "a..b", ".a", ""]) {
      expect(() => clientPermissions("agg", { inboxPrefix: bad }), bad).toThrow(ConfigError);
      expect(() => enginePermissions("agg", { inboxPrefix: bad }), bad).toThrow(ConfigError);
    }
  });

  it("refuses an invalid prefix", () => {
    expect(() => enginePermissions("agg.>")).toThrow(ConfigError);
    expect(() => clientPermissions("")).toThrow(ConfigError);
  });
});

describe("permission sets are immutable data", () => {
  it("freezes the lists", () => {
    const p: NatsPermissions = enginePermissions("agg");
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p.publish.allow)).toBe(true);
    expect(() => (p.subscribe.allow as string[]).push(">")).toThrow(TypeError);
  });
});

describe("natsServerAuthorizationConfig", () => {
  it("renders users with password or NKey and their permissions, every string quoted", () => {
    const text = natsServerAuthorizationConfig([
      {
        user: "alice",
        password: "pw",
        permissions: clientPermissions("agg", { inboxPrefix: "_INBOX_alice" }),
      },
      { nkey: "UABC", permissions: { publish: { allow: ["$JS.API.INFO"] }, subscribe: { allow: [] } } },
      { user: "admin", password: "$2a$11$hash" },
    ]);
    expect(text).toBe(
      [
        "authorization {",
        "  users = [",
        "    {",
        '      user: "alice"',
        '      password: "pw"',
        "      permissions: {",
        "        publish: {",
        "          allow: [",
        '            "agg.request"',
        '            "agg.status"',
        '            "agg.inspect"',
        '            "agg.summary"',
        "          ]",
        "        }",
        "        subscribe: {",
        "          allow: [",
        '            "agg.batch.*"',
        '            "_INBOX_alice.>"',
        "          ]",
        "        }",
        "      }",
        "    }",
        "    {",
        '      nkey: "UABC"',
        "      permissions: {",
        "        publish: {",
        "          allow: [",
        '            "$JS.API.INFO"',
        "          ]",
        "        }",
        "        subscribe: {",
        "          allow: [",
        "          ]",
        "        }",
        "      }",
        "    }",
        "    {",
        '      user: "admin"',
        '      password: "$2a$11$hash"',
        "    }",
        "  ]",
        "}",
        "",
      ].join("\n"),
    );
    expect(
      natsServerAuthorizationConfig([{ user: "e", password: "p", permissions: enginePermissions() }]),
    ).toContain("        allow_responses: true\n");
  });

  it("refuses values it cannot quote safely", () => {
    expect(() => natsServerAuthorizationConfig([{ user: "a", password: 'p"w' }])).toThrow(ConfigError);
    expect(() => natsServerAuthorizationConfig([{ user: "a\nb", password: "pw" }])).toThrow(ConfigError);
  });

  it("is a configuration nats-server accepts", () => {
    const dir = mkdtempSync(join(tmpdir(), "agg-perm-conf-"));
    try {
      const file = join(dir, "server.conf");
      writeFileSync(
        file,
        `listen: "127.0.0.1:-1"\n${natsServerAuthorizationConfig([
          { user: "engine", password: "e", permissions: enginePermissions("agg") },
          { user: "alice", password: "a", permissions: clientPermissions("agg") },
          { user: "inspector", password: "i", permissions: inspectorPermissions("agg") },
        ])}`,
      );
      const result = spawnSync(findNatsServerBinary(), ["-t", "-c", file], { encoding: "utf8" });
      expect(`${result.stdout}${result.stderr}`).not.toMatch(/error/i);
      expect(result.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
