import type { Msg, NatsConnection, Subscription } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type NatsServer, startNatsServer } from "../../../test/support/src/nats-server";
import {
  AggClient,
  type AggRequest,
  AggRequestSchema,
  BadRequestError,
  type BatchEvent,
  type BatchStatus,
  BusyError,
  createSubjects,
  decodeRequest,
  errorReply,
  InspectRequestSchema,
  InternalError,
  matchesInspectFilter,
  NotFoundError,
  StatusRequestSchema,
  type Subjects,
  UnavailableError,
  UnknownUserError,
  WaitTimeoutError,
} from "../src";

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A tiny stand-in for the engine (not for the broker: NATS is real). It uses
 * the protocol's own decode and errorReply, as the engine does, and its
 * behaviour is chosen by the first user's name:
 *
 * - `busy`: BUSY; `ghost*` only: UNKNOWN_USER
 * - `instant`: publishes every event, final included, before it replies
 * - `lost-final`: progress events, then completes without a final event
 * - `forever`: stays running
 * - anything else: replies, then progress events and a final event 30 ms apart
 *
 * `agg.status` of `boom` throws a plain Error (-> INTERNAL).
 */
class FakeEngine {
  private readonly subs: Subscription[] = [];
  readonly batches = new Map<string, BatchStatus>();
  private next = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly s: Subjects,
  ) {}

  /** Subscribes (again, after {@link stop}); a no-op while running. */
  start(): this {
    if (this.subs.length > 0) return this;
    this.serve(this.s.request, (m) => this.onRequest(decodeRequest(AggRequestSchema, m.data)));
    this.serve(this.s.status, (m) => {
      const { batchId } = decodeRequest(StatusRequestSchema, m.data);
      if (batchId === "boom") throw new Error("relation agg_batches does not exist (password=hunter2)");
      const status = this.batches.get(batchId);
      if (!status) throw new NotFoundError(`no batch ${batchId}`);
      return status;
    });
    this.serve(this.s.inspect, (m) => {
      const filter = decodeRequest(InspectRequestSchema, m.data);
      const actors = [
        {
          id: "user:alice",
          machine: "userAggregator",
          state: "aggregating",
          userId: "alice",
          instance: "fake-1",
        },
        { id: "batch:b1", machine: "batchCoordinator", state: "running", batchId: "b1", instance: "fake-1" },
      ];
      return {
        instances: [{ id: "fake-1", startedAt: "2025-01-01T00:00:00.000Z" }],
        actors: actors.filter((a) => matchesInspectFilter(a, filter)),
      };
    });
    return this;
  }

  async stop(): Promise<void> {
    for (const sub of this.subs.splice(0)) sub.unsubscribe();
    await this.nc.flush();
  }

  private serve(subject: string, handler: (m: Msg) => unknown): void {
    this.subs.push(
      this.nc.subscribe(subject, {
        queue: this.s.engineQueue,
        callback: (_err, m) => {
          Promise.resolve()
            .then(() => handler(m))
            .then(
              (reply) => m.respond(encode(reply)),
              (err) => m.respond(encode(errorReply(err))),
            );
        },
      }),
    );
  }

  private async onRequest(request: AggRequest): Promise<unknown> {
    const users = request.users ?? ["everyone-1", "everyone-2", "everyone-3"];
    const kind = users[0] ?? "";
    if (kind === "busy") throw new BusyError("3 batches in flight; the limit is 3");
    if (users.every((u) => u.startsWith("ghost")))
      throw new UnknownUserError(`unknown users: ${users.join(", ")}`);
    const batchId = `b${++this.next}`;
    const status: BatchStatus = {
      batchId,
      state: "running",
      users: users.length,
      done: 0,
      failed: 0,
      skipped: 0,
    };
    this.batches.set(batchId, status);
    if (kind === "instant") {
      this.publishAll(batchId, users.length, true);
    } else if (kind !== "forever") {
      void sleep(30).then(async () => {
        for (let i = 1; i <= users.length; i++) {
          await sleep(30);
          this.progress(batchId, i, users.length, kind !== "lost-final");
        }
      });
    }
    return { batchId, users: users.length };
  }

  private publishAll(batchId: string, n: number, final: boolean): void {
    for (let i = 1; i <= n; i++) this.progress(batchId, i, n, final);
  }

  private progress(batchId: string, done: number, users: number, publishFinal: boolean): void {
    const last = done === users;
    const status: BatchStatus = {
      batchId,
      state: last ? "completed" : "running",
      users,
      done,
      failed: 0,
      skipped: 0,
    };
    this.batches.set(batchId, status);
    if (!last) this.nc.publish(this.s.batchEvents(batchId), encode({ type: "progress", ...status }));
    else if (publishFinal) this.nc.publish(this.s.batchEvents(batchId), encode({ type: "final", ...status }));
  }
}

let server: NatsServer;
let engineConn: NatsConnection;
let clientConn: NatsConnection;
let engine: FakeEngine;
let client: AggClient;
const subjects = createSubjects();

beforeAll(async () => {
  server = await startNatsServer({ jetstream: false });
  engineConn = await connect({ servers: server.url, name: "fake-engine" });
  clientConn = await connect({ servers: server.url, name: "client" });
  engine = new FakeEngine(engineConn, subjects).start();
  await engineConn.flush();
  client = new AggClient(clientConn, { timeoutMs: 2_000 });
});

afterAll(async () => {
  await clientConn?.close();
  await engineConn?.close();
  await server?.stop();
});

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (err: Error) => err,
  );
}

async function collect(events: AsyncIterable<BatchEvent>): Promise<BatchEvent[]> {
  const out: BatchEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

describe("requests and error replies", () => {
  it("gets a typed acceptance, status and inspect reply", async () => {
    const accepted = await client.request({ users: ["alice", "bob", "alice"], mode: "missing" });
    // The engine deduplicated through the protocol's schema.
    expect(accepted).toEqual({ batchId: expect.stringMatching(/^b\d+$/), users: 2 });
    const status = await client.status(accepted.batchId);
    expect(status).toMatchObject({ batchId: accepted.batchId, users: 2 });
    const inspect = await client.inspect();
    expect(inspect.instances).toEqual([{ id: "fake-1", startedAt: "2025-01-01T00:00:00.000Z" }]);
    expect(inspect.actors.map((a) => a.id)).toEqual(["user:alice", "batch:b1"]);
    expect((await client.inspect({ machine: "batchCoordinator" })).actors.map((a) => a.id)).toEqual([
      "batch:b1",
    ]);
  });

  it("throws BadRequestError naming the unknown field", async () => {
    const err = await rejection(client.request({ user: ["alice"] } as never));
    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.message).toBe('unknown field "user"');
  });

  it("throws BadRequestError for empty users and impossible dates", async () => {
    const empty = await rejection(client.request({ users: [] }));
    expect(empty).toBeInstanceOf(BadRequestError);
    expect(empty.message).toBe("users must not be empty; omit it to mean every user");
    const date = await rejection(client.request({ from: "2025-02-30" }));
    expect(date).toMatchObject({ code: "BAD_REQUEST", message: 'from: "2025-02-30" is not a calendar day' });
  });

  it("maps BUSY, UNKNOWN_USER, NOT_FOUND and INTERNAL to their classes", async () => {
    await expect(client.request({ users: ["busy"] })).rejects.toBeInstanceOf(BusyError);
    await expect(client.request({ users: ["ghost-1", "ghost-2"] })).rejects.toBeInstanceOf(UnknownUserError);
    const notFound = await rejection(client.status("nope"));
    expect(notFound).toBeInstanceOf(NotFoundError);
    expect(notFound.message).toBe("no batch nope");
    const internal = await rejection(client.status("boom"));
    expect(internal).toBeInstanceOf(InternalError);
    expect(internal.message).not.toMatch(/hunter2|relation/);
  });

  it("refuses an unsafe batch id before sending anything", async () => {
    // No engine listens on this prefix: an id that reached NATS would give UNAVAILABLE instead.
    const lonely = new AggClient(clientConn, { prefix: "nobody-home" });
    await expect(lonely.status("a.>")).rejects.toBeInstanceOf(BadRequestError);
    await expect(lonely.waitForBatch("a b")).rejects.toBeInstanceOf(BadRequestError);
    expect(() => lonely.watchBatch("*")).toThrow(BadRequestError);
  });

  it("throws UnavailableError when no engine answers", async () => {
    const lonely = new AggClient(clientConn, { prefix: "nobody-home" });
    const started = Date.now();
    const err = await rejection(lonely.request({}));
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).toBe("no engine is answering on nobody-home.request");
    expect(Date.now() - started).toBeLessThan(1_000);
    await expect(lonely.status("b1")).rejects.toThrow("no engine is answering on nobody-home.status");
  });

  it("throws UnavailableError when an engine takes the request but never answers", async () => {
    const mute = createSubjects("mute");
    const sub = engineConn.subscribe(mute.request, { callback: () => undefined });
    await engineConn.flush();
    try {
      const err = await rejection(new AggClient(clientConn, { prefix: "mute", timeoutMs: 200 }).request({}));
      expect(err).toBeInstanceOf(UnavailableError);
      expect(err.message).toBe("no reply on mute.request within 200 ms");
    } finally {
      sub.unsubscribe();
    }
  });

  it("throws InternalError for a reply that is not the contract's", async () => {
    const odd = createSubjects("odd");
    const sub = engineConn.subscribe(odd.status, {
      callback: (_e, m) => {
        m.respond(encode({ batchId: "b", state: "exploded", users: 1, done: 0, failed: 0, skipped: 0 }));
      },
    });
    await engineConn.flush();
    try {
      const err = await rejection(new AggClient(clientConn, { prefix: "odd" }).status("b"));
      expect(err).toBeInstanceOf(InternalError);
      expect(err.message).toMatch(/^malformed reply on odd\.status: state: /);
    } finally {
      sub.unsubscribe();
    }
  });
});

describe("watching a batch", () => {
  it("watchBatch sees progress events, then the final event, then ends", async () => {
    const accepted = await client.request({ users: ["u1", "u2", "u3"] });
    const events = await collect(client.watchBatch(accepted.batchId));
    expect(events.map((e) => `${e.type}:${e.done}`)).toEqual(["progress:1", "progress:2", "final:3"]);
    expect(events.at(-1)).toEqual({
      type: "final",
      batchId: accepted.batchId,
      state: "completed",
      users: 3,
      done: 3,
      failed: 0,
      skipped: 0,
    });
  });

  it("requestAndWatch misses nothing even when every event comes before the reply", async () => {
    const { accepted, events } = await client.requestAndWatch({ users: ["instant", "x", "y", "z"] });
    const seen = await collect(events);
    expect(seen.map((e) => `${e.type}:${e.batchId}:${e.done}`)).toEqual([
      `progress:${accepted.batchId}:1`,
      `progress:${accepted.batchId}:2`,
      `progress:${accepted.batchId}:3`,
      `final:${accepted.batchId}:4`,
    ]);
  });

  it("keeps other batches' events out of a watch", async () => {
    const [other, { accepted, events }] = await Promise.all([
      client.request({ users: ["o1", "o2"] }),
      client.requestAndWatch({ users: ["m1", "m2", "m3"] }),
    ]);
    const seen = await collect(events);
    expect(seen.every((e) => e.batchId === accepted.batchId)).toBe(true);
    expect(seen.at(-1)?.type).toBe("final");
    expect(other.batchId).not.toBe(accepted.batchId);
  });

  it("stop() ends a watch early", async () => {
    const accepted = await client.request({ users: ["forever"] });
    const watch = client.watchBatch(accepted.batchId);
    setTimeout(() => watch.stop(), 50);
    expect(await collect(watch)).toEqual([]);
  });
});

describe("waitForBatch", () => {
  afterEach(async () => {
    engine.start(); // a test that stopped the engine must not leave it stopped
    await engineConn.flush();
  });

  it("resolves with the final status and reports each distinct progress once", async () => {
    const progress: number[] = [];
    const { accepted, final } = await client.requestAndWait(
      { users: ["p1", "p2", "p3", "p4"] },
      { onProgress: (s) => progress.push(s.done), pollIntervalMs: 20 },
    );
    expect(final).toEqual({
      batchId: accepted.batchId,
      state: "completed",
      users: 4,
      done: 4,
      failed: 0,
      skipped: 0,
    });
    expect(new Set(progress).size).toBe(progress.length);
    expect(progress).toEqual([...progress].sort());
    expect(progress.at(-1)).toBeLessThan(4);
  });

  it("does not hang when the final event is lost: polling sees the end", async () => {
    const accepted = await client.request({ users: ["lost-final", "b"] });
    const final = await client.waitForBatch(accepted.batchId, { pollIntervalMs: 50, timeoutMs: 5_000 });
    expect(final.state).toBe("completed");
  });

  it("resolves at once for a batch that already ended before the wait began", async () => {
    const { accepted, events } = await client.requestAndWatch({ users: ["instant"] });
    await collect(events);
    const started = Date.now();
    const final = await client.waitForBatch(accepted.batchId, { pollIntervalMs: 10_000 });
    expect(final.state).toBe("completed");
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("gives up with WaitTimeoutError, keeping the last status", async () => {
    const accepted = await client.request({ users: ["forever"] });
    const err = await rejection(
      client.waitForBatch(accepted.batchId, { timeoutMs: 150, pollIntervalMs: 30 }),
    );
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect((err as WaitTimeoutError).lastStatus).toMatchObject({
      batchId: accepted.batchId,
      state: "running",
    });
  });

  it("fails with NotFoundError for a batch nobody knows", async () => {
    await expect(client.waitForBatch("never-was", { pollIntervalMs: 20 })).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it("keeps waiting while no engine answers, and ends when one is back", async () => {
    const accepted = await client.request({ users: ["lost-final", "b", "c"] });
    await engine.stop();
    const waiting = client.waitForBatch(accepted.batchId, { pollIntervalMs: 30, timeoutMs: 10_000 });
    await sleep(300);
    engine.start();
    const final = await waiting;
    expect(final.state).toBe("completed");
  });

  it("ends when aborted", async () => {
    const accepted = await client.request({ users: ["forever"] });
    const controller = new AbortController();
    const waiting = client.waitForBatch(accepted.batchId, { signal: controller.signal, pollIntervalMs: 30 });
    controller.abort(new Error("user pressed ^C"));
    await expect(waiting).rejects.toThrow("user pressed ^C");
  });
});
