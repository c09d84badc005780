/**
 * `/healthz` and `/metrics` (issue 7, item 6) against a real nats-server and
 * PostgreSQL: 200 while connected, 503 naming NATS once the server goes away,
 * 200 again once the client has reconnected.
 */
import { createServer, type Server } from "node:net";
import { type Database, openDatabase } from "@agg/store";
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NatsServer, startNatsServer } from "../../../test/support/src/nats-server";
import { createHealthChecks, type HealthServer, startHealthServer } from "../src/health-server";
import { EngineMetrics } from "../src/metrics";

const DATABASE_URL = process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres";

interface Probe {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

async function probe(server: HealthServer): Promise<Probe> {
  const res = await fetch(`${server.url}/healthz`);
  expect(res.headers.get("content-type")).toBe("application/json");
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Probes until `pred` holds, or fails with the last answer after `timeoutMs`. */
async function probeUntil(server: HealthServer, pred: (p: Probe) => boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let last: Probe | undefined;
  while (Date.now() < deadline) {
    last = await probe(server);
    if (pred(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`/healthz never matched within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
}

async function scrapeUp(server: HealthServer): Promise<string | undefined> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return /^agg_up (\S+)$/m.exec(text)?.[1];
}

describe("health server", () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  let store: Awaited<ReturnType<typeof openDatabase>>;
  let server: HealthServer;
  let consumerHeld = true;
  const metrics = new EngineMetrics();

  beforeAll(async () => {
    nats = await startNatsServer({ jetstream: false });
    nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    store = await openDatabase({ url: DATABASE_URL, poolSize: 2 });
    const checks = createHealthChecks({ nc, db: store.db, consumerHeld: () => consumerHeld });
    server = await startHealthServer({ port: 0, metrics, health: () => checks.run() });
  });

  afterAll(async () => {
    await server?.close();
    await nc?.close();
    await store?.close();
    await nats?.stop();
  });

  it("binds to loopback and answers 200 with every check when all is well", async () => {
    expect(server.host).toBe("127.0.0.1");
    const p = await probe(server);
    expect(p.status).toBe(200);
    expect(p.body).toMatchObject({
      status: "ok",
      checks: { nats: { ok: true }, database: { ok: true }, consumer: { ok: true } },
    });
    expect(await scrapeUp(server)).toBe("1");
  });

  it("serves Prometheus text on /metrics and 404 elsewhere", async () => {
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await res.text()).toMatch(/^# TYPE agg_batches_total counter$/m);
    expect((await fetch(`${server.url}/`)).status).toBe(404);
    expect((await fetch(`${server.url}/healthz/x`)).status).toBe(404);
    expect((await fetch(`${server.url}/metrics`, { method: "POST" })).status).toBe(405);
  });

  it("says 503 naming NATS while the server is away, and 200 once the client reconnected", async () => {
    await nats.kill("SIGTERM");
    const down = await probeUntil(server, (p) => p.status === 503, 5_000);
    expect(down.body.status).toBe("unavailable");
    expect(down.body.reason).toMatch(/^nats: NATS /);
    expect(down.body.checks).toMatchObject({ nats: { ok: false }, database: { ok: true } });
    expect(await scrapeUp(server)).toBe("0");

    await nats.restart();
    const up = await probeUntil(server, (p) => p.status === 200, 10_000);
    expect(up.body).toMatchObject({ status: "ok", checks: { nats: { ok: true } } });
    expect(await scrapeUp(server)).toBe("1");
  });

  it("says 503 while the job consumer is not running", async () => {
    consumerHeld = false;
    try {
      const p = await probe(server);
      expect(p.status).toBe(503);
      expect(p.body.reason).toMatch(/^consumer: /);
    } finally {
      consumerHeld = true;
    }
  });
});

describe("database check", () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  let silent: Server;

  beforeAll(async () => {
    nats = await startNatsServer({ jetstream: false });
    nc = await connect({ servers: nats.url });
    // Accepts connections and never answers: a database that hangs.
    silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  });

  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
    silent?.close();
  });

  function kyselyAt(url: string): Kysely<Database> {
    return new Kysely<Database>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }),
    });
  }

  it("fails when the database refuses connections", async () => {
    const db = kyselyAt("postgres://postgres@127.0.0.1:1/none");
    try {
      const report = await createHealthChecks({ nc, db, consumerHeld: () => true }).run();
      expect(report.ok).toBe(false);
      expect(report.checks.database).toMatchObject({
        ok: false,
        detail: expect.stringMatching(/^database: /),
      });
      expect(report.checks.nats).toMatchObject({ ok: true });
    } finally {
      await db.destroy();
    }
  });

  it("fails when the database does not answer in time", async () => {
    const port = (silent.address() as { port: number }).port;
    const db = kyselyAt(`postgres://postgres@127.0.0.1:${port}/none`);
    const started = Date.now();
    const report = await createHealthChecks({
      nc,
      db,
      consumerHeld: () => true,
      databaseTimeoutMs: 300,
    }).run();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(report.checks.database).toEqual({
      ok: false,
      detail: "database did not answer select 1 within 300 ms",
    });
    // The pool's pending connect never settles against this server: do not wait for it.
    void db.destroy().catch(() => undefined);
  });
});
