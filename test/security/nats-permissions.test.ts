/**
 * Issue 7, item 2: least privilege. A nats-server whose users hold exactly
 * `enginePermissions`, `clientPermissions` and `inspectorPermissions` (plus
 * an unrestricted `admin` that only observes): the engine works end to end;
 * a client can request, ask for status and inspect and read its replies and
 * batch events, but cannot publish to the engine's internal subjects or the
 * JetStream API, nor read another client's replies.
 */
import { randomBytes } from "node:crypto";
import {
  AggClient,
  clientInboxPrefix,
  clientPermissions,
  createSubjects,
  engineInboxPrefix,
  enginePermissions,
  inspectorPermissions,
  natsServerAuthorizationConfig,
} from "@agg/protocol";
import {
  type EngineProcess,
  type NatsServer,
  startEngine,
  startNatsServer,
  uniquePrefix,
} from "@agg/test-support";
import { jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  connectWatched,
  type SeededDatabase,
  seededDatabase,
  type WatchedConnection,
} from "./security-support";

const prefix = uniquePrefix("perm");
const subjects = createSubjects(prefix);
const names = subjects.names;
const passwords = Object.fromEntries(
  ["engine", "alice", "bob", "inspector", "admin"].map((u) => [u, randomBytes(12).toString("hex")]),
) as Record<"engine" | "alice" | "bob" | "inspector" | "admin", string>;

let server: NatsServer;
let seeded: SeededDatabase;
const engines: EngineProcess[] = [];
let alice: WatchedConnection;
let bob: WatchedConnection;
let admin: WatchedConnection;
let batchId: string;

const urlFor = (user: keyof typeof passwords) =>
  server.url.replace("nats://", `nats://${user}:${passwords[user]}@`);

beforeAll(async () => {
  const inbox = (user: string) => ({ inboxPrefix: clientInboxPrefix(user) });
  server = await startNatsServer({
    config: natsServerAuthorizationConfig([
      { user: "engine", password: passwords.engine, permissions: enginePermissions(prefix) },
      { user: "alice", password: passwords.alice, permissions: clientPermissions(prefix, inbox("alice")) },
      { user: "bob", password: passwords.bob, permissions: clientPermissions(prefix, inbox("bob")) },
      {
        user: "inspector",
        password: passwords.inspector,
        permissions: inspectorPermissions(prefix, inbox("inspector")),
      },
      // Unrestricted: only observes what the others manage to send.
      { user: "admin", password: passwords.admin },
    ]),
  });
  seeded = await seededDatabase(200, 3);
  // Two instances, one after the other: the second finds the streams, consumer and bucket made
  // by the first and updates them, as every restart or scale-out does; it also brings another
  // lease TTL, which it gives the bucket (as after an operator changed AGG_LEASE_TTL_MS).
  for (const [name, leaseTtlMs] of [
    ["least-privilege-1", "5000"],
    ["least-privilege-2", "4500"],
  ] as const) {
    try {
      engines.push(
        await startEngine(name, {
          NATS_URL: urlFor("engine"),
          DATABASE_URL: seeded.db.url,
          AGG_PREFIX: prefix,
          AGG_LEASE_TTL_MS: leaseTtlMs,
        }),
      );
    } catch (err) {
      // Name what the server refused: that is the permission the engine lacks (or must stop needing).
      throw new Error(
        `${(err as Error).message}\nnats-server refused the engine: ${violationsLogged("engine").join("\n") || "nothing"}` +
          `\n(the engine must connect with inboxPrefix ${JSON.stringify(engineInboxPrefix(prefix))}, docs/nats-permissions.md)`,
        { cause: err },
      );
    }
  }
  alice = await connectWatched({ NATS_URL: urlFor("alice") }, clientInboxPrefix("alice"));
  bob = await connectWatched({ NATS_URL: urlFor("bob") }, clientInboxPrefix("bob"));
  admin = await connectWatched({ NATS_URL: urlFor("admin") });
}, 60_000);

afterAll(async () => {
  for (const c of [alice, bob, admin]) await c?.nc.close();
  await Promise.all(engines.map((e) => e.stop()));
  await seeded?.db.drop();
  await server?.stop();
});

/** nats-server's log lines reporting a permission violation by `user`. */
function violationsLogged(user: string): string[] {
  return server
    .logs()
    .split("\n")
    .filter((l) => /Violation/.test(l) && l.includes(`User "${user}"`));
}

describe("the engine with only enginePermissions", () => {
  it("completes a batch requested by a client, answers agg.status and agg.inspect", async () => {
    const client = new AggClient(alice.nc, { prefix });
    const { accepted, final } = await client.requestAndWait(
      { users: [...seeded.userIds], mode: "regenerate" },
      { timeoutMs: 30_000, pollIntervalMs: 500 },
    );
    batchId = accepted.batchId;
    expect(final).toMatchObject({ state: "completed", users: 3, done: 3, failed: 0 });
    // Again for the same users: their released leases are read back (KV direct get) and retaken.
    const again = await client.requestAndWait(
      { users: [...seeded.userIds], mode: "regenerate" },
      { timeoutMs: 30_000, pollIntervalMs: 500 },
    );
    expect(again.final).toMatchObject({ state: "completed", done: 3 });
    expect(await client.status(batchId)).toMatchObject({ batchId, state: "completed", done: 3 });
    // Scatter-gather across both instances (each answers on the other's inbox).
    await expect
      .poll(async () => (await client.inspect()).instances.map((i) => i.id).sort(), { timeout: 5_000 })
      .toEqual(["least-privilege-1", "least-privilege-2"]);
    // The CLI's stored-summaries extension answers too (a reply, whatever it says).
    const summary = await alice.nc.request(`${prefix}.summary`, JSON.stringify({}), { timeout: 5_000 });
    expect(summary.json()).toBeTypeOf("object");

    expect(violationsLogged("engine")).toEqual([]);
    for (const e of engines) expect(e.logs.filter((l) => (l.level as number) >= 50)).toEqual([]);
    expect(alice.violations).toEqual([]);
  });

  it("may acknowledge a job more than once (in progress, then ack), beyond allow_responses", async () => {
    // allow_responses grants one reply per message for two minutes; a long job sends
    // several in-progress acks first. No job is pending, so the server ignores these.
    const asEngine = await connectWatched({ NATS_URL: urlFor("engine") });
    try {
      const ack = `$JS.ACK.${names.jobsStream}.${names.jobsConsumer}.1.999999.999999.0.0`;
      asEngine.nc.publish(ack, "+WPI");
      asEngine.nc.publish(ack, "+ACK");
      await asEngine.nc.flush();
      expect(violationsLogged("engine")).toEqual([]);
      expect(asEngine.violations).toEqual([]);
    } finally {
      await asEngine.nc.close();
    }
  });
});

describe("a client with only clientPermissions", () => {
  it("cannot publish to the engine's internal subjects or the JetStream API", async () => {
    const forged = JSON.stringify({ batchId, userId: seeded.userIds[0], mode: "regenerate" });
    const targets = [
      subjects.jobs(batchId),
      subjects.report(batchId),
      subjects.inspectInstance,
      subjects.deadLetter("jobs"),
      `$JS.API.STREAM.DELETE.${names.jobsStream}`,
      `$JS.API.CONSUMER.MSG.NEXT.${names.jobsStream}.${names.jobsConsumer}`,
      `$KV.${names.leasesBucket}.u.forged`,
    ];
    // A privileged observer on every target: the forged payload must not arrive there
    // (the engines' own traffic, such as their pulls, may).
    const arrived: string[] = [];
    const observers = targets.map((t) =>
      admin.nc.subscribe(t, {
        callback: (_e, m) => {
          if (m.string() === forged) arrived.push(m.subject);
        },
      }),
    );
    await admin.nc.flush();

    for (const target of targets) alice.nc.publish(target, forged);
    await alice.nc.flush();
    for (const target of targets) await alice.violation("publish", target);
    await expect(
      alice.nc.request(`$JS.API.STREAM.INFO.${names.jobsStream}`, "", { timeout: 2_000 }),
    ).rejects.toThrow(/Permissions Violation for Publish/);

    await admin.nc.flush();
    for (const o of observers) o.unsubscribe();
    expect(arrived).toEqual([]);
    const jsm = await jetstreamManager(admin.nc);
    expect((await jsm.streams.info(names.jobsStream)).state.messages).toBe(0);
    expect(violationsLogged("alice").length).toBeGreaterThanOrEqual(targets.length);
  });

  it("cannot read another client's replies or the internal subjects", async () => {
    const seen: string[] = [];
    for (const subject of [`${clientInboxPrefix("bob")}.>`, "_INBOX.>", subjects.internalWildcard, ">"]) {
      alice.nc.subscribe(subject, {
        callback: (err, m) => {
          if (!err) seen.push(m.subject);
        },
      });
      await alice.violation("subscription", subject);
    }
    // Bob's request is answered on bob's inbox, and alice sees none of it.
    const status = await new AggClient(bob.nc, { prefix }).status(batchId);
    expect(status.state).toBe("completed");
    await alice.nc.flush();
    expect(seen).toEqual([]);
  });

  it("gets no replies on the default _INBOX: each client connects with its own inbox prefix", async () => {
    const plain = await connectWatched({ NATS_URL: urlFor("alice") });
    try {
      await expect(
        plain.nc.request(subjects.status, JSON.stringify({ batchId }), { timeout: 2_000 }),
      ).rejects.toThrow(/Permissions Violation for Subscription to "_INBOX\./);
    } finally {
      await plain.nc.close();
    }
  });
});

describe("the inspector with only inspectorPermissions", () => {
  it("inspects and watches actor events, and can do nothing else internal", async () => {
    const inspector = await connectWatched({ NATS_URL: urlFor("inspector") }, clientInboxPrefix("inspector"));
    try {
      inspector.nc.subscribe(subjects.inspectEventsWildcard, { callback: () => undefined });
      const inspected = await new AggClient(inspector.nc, { prefix }).inspect();
      expect(inspected.instances.length).toBeGreaterThan(0);
      expect(inspector.violations).toEqual([]);

      inspector.nc.publish(subjects.inspectInstance, "{}");
      inspector.nc.publish(subjects.request, "{}");
      inspector.nc.subscribe(subjects.reportWildcard, { callback: () => undefined });
      await inspector.violation("publish", subjects.inspectInstance);
      await inspector.violation("publish", subjects.request);
      await inspector.violation("subscription", subjects.reportWildcard);
    } finally {
      await inspector.nc.close();
    }
  });
});
