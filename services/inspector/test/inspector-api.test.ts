/**
 * `pnpm inspector`'s HTTP API against a real engine on the real NATS (issue 5):
 * `/api/actors` is the `agg.inspect` object, `/api/events` streams snapshots
 * and inspection events, and malformed inspection events are dropped and
 * counted without breaking the stream.
 */

import { InspectReplySchema } from "@agg/protocol";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// The harness of the repository's cross-package tests (not a dependency of this package).
import {
  ContractClient,
  createTestDatabase,
  type EngineProcess,
  generateDataset,
  insertDataset,
  startEngine,
  TEST_NATS_URL,
  type TestDatabase,
  uniquePrefix,
} from "../../../test/support/src/index";
import { type RunningInspector, renderPage } from "../src/index";
import { getJson, openSse, type SseEvent, type SseStream, startTestInspector } from "./support";

type Stats = { inspection: { messages: number; events: number; malformed: number; droppedAtSource: number } };

describe("the inspector with a real engine", () => {
  const prefix = uniquePrefix("insp");
  const instance = `insp-${prefix}`;
  const data = generateDataset({ users: 6, days: 4, seed: 41, perDay: 10 });
  let testDb: TestDatabase;
  let engine: EngineProcess;
  let inspector: RunningInspector;
  let client: ContractClient;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    engine = await startEngine(instance, {
      DATABASE_URL: testDb.url,
      NATS_URL: TEST_NATS_URL,
      AGG_PREFIX: prefix,
      // Idle user actors stay live, so there are actors to see after the batch.
      AGG_PASSIVATE_AFTER_MS: "120000",
    });
    await insertDataset(testDb.url, data);
    inspector = await startTestInspector(prefix);
    client = await ContractClient.connect(prefix);
  });

  afterAll(async () => {
    await client?.close();
    await inspector?.close();
    await engine?.stop();
    await testDb?.drop();
  });

  it("GET /api/actors returns the agg.inspect object, with actors of both machines after a batch", async () => {
    const { final } = await client.runBatch({ users: data.users.map((u) => u.id), mode: "regenerate" });
    expect(final.state).toBe("completed");

    const { status, headers, body } = await getJson(`${inspector.url}api/actors`);
    expect(status).toBe(200);
    expect(headers.get("content-type")).toMatch(/^application\/json/);
    expect(InspectReplySchema.safeParse(body).success).toBe(true);
    const direct = await client.call("inspect", {});
    // The same object agg.inspect returns: same keys, same instances, same actors.
    expect(Object.keys(body).sort()).toEqual(Object.keys(direct).sort());
    expect(body.instances).toEqual(direct.instances);
    const ids = (reply: Record<string, unknown>) =>
      (reply.actors as { id: string; instance: string }[]).map((a) => `${a.instance}/${a.id}`).sort();
    expect(ids(body)).toEqual(ids(direct));
    const actors = body.actors as {
      id: string;
      machine: string;
      state: string;
      instance: string;
      userId?: string;
    }[];
    expect(actors.filter((a) => a.machine === "userAggregator").map((a) => a.userId)).toEqual(
      expect.arrayContaining(data.users.map((u) => u.id)),
    );
    expect(actors.every((a) => a.instance === instance)).toBe(true);
  });

  it("GET / serves one self-contained page whose script parses", async () => {
    const res = await fetch(inspector.url);
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    const html = await res.text();
    expect(html).toContain("<!doctype html>");
    // Nothing from elsewhere: no external script, stylesheet or font.
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(html).toContain(`nonce="${nonce}"`);
    const scripts = [...html.matchAll(/<script nonce="[^"]+">([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    expect(scripts).toHaveLength(1);
    // The browser's parser would reject a syntax error; so does Function.
    expect(() => new Function(scripts[0]!)).not.toThrow();
    expect(renderPage({ nonce: "n", prefix: "</script><b>", refreshMs: 500 })).not.toContain("</script><b>");
  });

  it("GET /api/machines returns both statecharts to draw", async () => {
    const { status, body } = await getJson(`${inspector.url}api/machines`);
    expect(status).toBe(200);
    const machines = body.machines as { id: string; states: { id: string; type: string }[] }[];
    expect(machines.map((m) => m.id).sort()).toEqual(["batchCoordinator", "userAggregator"]);
    const user = machines.find((m) => m.id === "userAggregator")!;
    expect(user.states.map((s) => s.id)).toEqual(
      expect.arrayContaining([
        "userAggregator.idle",
        "userAggregator.processingJob.planning",
        "userAggregator.processingJob.aggregating",
        "userAggregator.reportingOutcome",
        "userAggregator.closed",
      ]),
    );
  });

  it("GET /api/events streams agg.inspect snapshots and stats", async () => {
    const stream = await openSse(`${inspector.url}api/events`);
    try {
      const hello = await stream.next((e) => e.event === "hello");
      expect(hello.data).toMatchObject({ prefix });
      const snapshot = await stream.next((e) => e.event === "snapshot");
      const reply = snapshot.data as { instances: { id: string }[] };
      expect(reply.instances.map((i) => i.id)).toContain(instance);
      const stats = await stream.next((e) => e.event === "stats");
      expect(stats.data).toMatchObject({ prefix, nats: "connected", inspection: { malformed: 0 } });
      // A fresh snapshot keeps coming (~every refresh).
      const count = () => stream.events.filter((e) => e.event === "snapshot").length;
      const before = count();
      await new Promise((r) => setTimeout(r, 1_200));
      expect(count()).toBeGreaterThanOrEqual(before + 2);
    } finally {
      stream.close();
    }
  });

  it("drops and counts malformed inspection events; the stream and the valid events go on", async () => {
    const nc = await connect({ servers: TEST_NATS_URL.split(",") });
    const stream: SseStream = await openSse(`${inspector.url}api/events`);
    try {
      await stream.next((e) => e.event === "snapshot");
      const before = ((await stream.next((e) => e.event === "stats")).data as Stats).inspection;
      const subject = `${prefix}.x.inspect.events.fake`;
      const enc = new TextEncoder();
      const garbage: Uint8Array[] = [
        enc.encode("{not json"),
        new Uint8Array([0xff, 0xfe, 0x00, 0x01]),
        enc.encode("[1, 2, 3]"),
        enc.encode('"a string"'),
        enc.encode("null"),
        enc.encode(JSON.stringify({ events: "not an array" })),
        enc.encode(JSON.stringify({ type: "actor.updated", actor: { id: 42 } })),
      ];
      for (const bytes of garbage) nc.publish(subject, bytes);
      // A batch mixing valid and invalid records: the valid ones get through.
      nc.publish(
        subject,
        enc.encode(
          JSON.stringify({
            instance: "fake",
            seq: 1,
            sentAt: Date.now(),
            dropped: 3,
            events: [
              {
                type: "actor.updated",
                at: Date.now(),
                event: "JOB_RECEIVED",
                actor: {
                  id: "user:zed",
                  machine: "userAggregator",
                  state: "processingJob.planning",
                  instance: "fake",
                  userId: "zed",
                },
              },
              {
                type: "actor.updated",
                at: Date.now(),
                event: "DAY_PERSISTED",
                coalesced: 14,
                actor: {
                  id: "user:zed",
                  machine: "userAggregator",
                  state: "processingJob.aggregating",
                  instance: "fake",
                  userId: "zed",
                },
              },
              { type: "actor.updated", actor: { id: "user:bad" } },
              { type: "no.such.type" },
              "a string",
              null,
              {
                type: "actor.stopped",
                at: Date.now(),
                id: "user:zed",
                instance: "fake",
                state: "closed",
                event: "CANCEL",
              },
            ],
          }),
        ),
      );
      await nc.flush();

      const inspection = await stream.next(
        (e) => e.event === "inspection" && (e.data as { instance?: string }).instance === "fake",
      );
      const events = (inspection.data as { instance: string; events: { type: string }[] }).events;
      expect(events.map((e) => e.type)).toEqual(["actor.updated", "actor.updated", "actor.stopped"]);
      // The engine may publish its own (valid) inspection events meanwhile: compare with the counters before.
      const malformedOf = (e: SseEvent) => (e.data as Stats).inspection.malformed - before.malformed;
      const stats = await stream.next((e) => e.event === "stats" && malformedOf(e) >= 11);
      const after = (stats.data as Stats).inspection;
      expect(after.malformed - before.malformed).toBe(11);
      expect(after.messages - before.messages).toBeGreaterThanOrEqual(8);
      expect(after.events - before.events).toBeGreaterThanOrEqual(2);
      expect(after.droppedAtSource - before.droppedAtSource).toBe(3);
      // Still streaming snapshots after all that.
      const seen = stream.events.length;
      await stream.next((e) => e.event === "snapshot" && stream.events.indexOf(e) >= seen);

      const timeline = await getJson(
        `${inspector.url}api/timeline?instance=fake&id=${encodeURIComponent("user:zed")}`,
      );
      expect(timeline.body.events).toMatchObject([
        { event: "JOB_RECEIVED", state: "processingJob.planning", source: "event" },
        // Fourteen DAY_PERSISTED folded by the instance stay one entry that says how many.
        { event: "DAY_PERSISTED", state: "processingJob.aggregating", source: "event", count: 14 },
        { event: "CANCEL", state: "closed", source: "event", ended: true },
      ]);
      // The page is still served, and /api/actors still answers.
      expect((await fetch(inspector.url)).status).toBe(200);
      expect((await getJson(`${inspector.url}api/actors`)).status).toBe(200);
    } finally {
      stream.close();
      await nc.close();
    }
  });

  it("answers 404 for unknown routes and 405 for other methods", async () => {
    expect((await fetch(`${inspector.url}api/nope`)).status).toBe(404);
    expect((await fetch(`${inspector.url}api/actors`, { method: "POST" })).status).toBe(405);
    expect((await fetch(`${inspector.url}api/timeline`)).status).toBe(400);
  });
});
