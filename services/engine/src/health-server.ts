import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Database } from "@agg/store";
import type { NatsConnection } from "@nats-io/nats-core";
import { type Kysely, sql } from "kysely";
import type { EngineMetrics } from "./metrics";

/** One named check of `/healthz`. */
export interface HealthCheck {
  readonly ok: boolean;
  /** Why it failed (or what it saw), one short line. */
  readonly detail?: string;
}

/** The verdict of all checks: `ok` only when every check is. */
export interface HealthReport {
  readonly ok: boolean;
  readonly checks: Record<string, HealthCheck>;
}

export interface HealthServerOptions {
  /** TCP port; 0 picks a free one (see {@link HealthServer.port}). */
  readonly port: number;
  /** Interface to bind; loopback unless the operator says otherwise. */
  readonly host?: string;
  readonly metrics: EngineMetrics;
  /** Runs the checks; called per `/healthz` request and per scrape (concurrent calls share one run). */
  readonly health: () => Promise<HealthReport>;
}

/** A running health and metrics endpoint. */
export interface HealthServer {
  readonly host: string;
  readonly port: number;
  /** `http://host:port`. */
  readonly url: string;
  /** Stops listening and ends open connections. Idempotent. */
  close(): Promise<void>;
}

/**
 * Serves `GET /healthz` and `GET /metrics` with node:http:
 *
 * - `/healthz`: 200 `{"status":"ok","checks":{...}}` when every check passes,
 *   else 503 `{"status":"unavailable","reason":"nats: ...; database: ...","checks":{...}}`.
 * - `/metrics`: the engine's registry in Prometheus text format; `agg_up`
 *   reflects a health check run just before rendering.
 * - anything else: 404 (405 for another method on those two paths).
 *
 * @throws when the port cannot be bound (e.g. `EADDRINUSE`).
 * @example
 * ```ts
 * const server = await startHealthServer({ port: 9464, metrics, health: checks.run });
 * // curl 127.0.0.1:9464/healthz
 * await server.close();
 * ```
 */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const host = options.host ?? "127.0.0.1";
  const health = shareInFlight(async (): Promise<HealthReport> => {
    try {
      return await options.health();
    } catch (err) {
      // A check that throws is a failing check, never a crashed endpoint.
      return { ok: false, checks: { health: { ok: false, detail: messageOf(err) } } };
    }
  });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/healthz" && path !== "/metrics") return send(res, 404, "text/plain", "not found\n");
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      return send(res, 405, "text/plain", "method not allowed\n");
    }
    const report = await health();
    options.metrics.setUp(report.ok);
    if (path === "/metrics") {
      const registry = options.metrics.registry;
      return send(res, 200, registry.contentType, await registry.metrics());
    }
    const body = report.ok
      ? { status: "ok", checks: report.checks }
      : { status: "unavailable", reason: reasonOf(report), checks: report.checks };
    send(res, report.ok ? 200 : 503, "application/json", `${JSON.stringify(body)}\n`);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) send(res, 500, "text/plain", `${messageOf(err)}\n`);
      else res.destroy();
    });
  });
  // Scrapers keep connections alive; a short idle timeout lets close() finish promptly.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    host,
    port,
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

export interface HealthCheckInputs {
  readonly nc: NatsConnection;
  readonly db: Kysely<Database>;
  /** True while the job consumer loop runs (false before it starts and once the engine stops). */
  readonly consumerHeld: () => boolean;
  /** How long the database gets to answer `select 1`. Default 1 s. */
  readonly databaseTimeoutMs?: number;
}

/** The engine's checks; `run` is what {@link startHealthServer} wants as `health`. */
export interface HealthChecks {
  run(): Promise<HealthReport>;
}

/**
 * Builds the engine's health checks:
 *
 * - `nats`: connected. Disconnected, reconnecting or closed is a failure, since
 *   no job, report or lease renewal gets through meanwhile.
 * - `database`: `select 1` answers within `databaseTimeoutMs`.
 * - `consumer`: the job consumer loop runs.
 *
 * It follows the connection through `nc.status()`; the watch ends with the connection.
 */
export function createHealthChecks(inputs: HealthCheckInputs): HealthChecks {
  const timeoutMs = inputs.databaseTimeoutMs ?? 1_000;
  const nats = watchNats(inputs.nc);
  return {
    async run() {
      const checks: Record<string, HealthCheck> = {
        nats: nats.check(),
        database: await pingDatabase(inputs.db, timeoutMs),
        consumer: inputs.consumerHeld()
          ? { ok: true }
          : { ok: false, detail: "the job consumer is not running (starting or stopping)" },
      };
      return { ok: Object.values(checks).every((c) => c.ok), checks };
    },
  };
}

/** The NATS connection's state, kept current from its status events. */
function watchNats(nc: NatsConnection): { check(): HealthCheck } {
  // Handed over connected; every later change arrives as a status event.
  let problem: string | undefined;
  void (async () => {
    for await (const s of nc.status()) {
      switch (s.type) {
        case "disconnect":
          problem = `disconnected from ${s.server}`;
          break;
        case "reconnecting":
          problem ??= "reconnecting";
          break;
        case "staleConnection":
          problem = "stale connection (no PONG from the server)";
          break;
        case "reconnect":
          problem = undefined;
          break;
      }
    }
  })().catch(() => undefined);
  return {
    check() {
      if (nc.isClosed()) return { ok: false, detail: "NATS connection closed" };
      if (problem !== undefined) return { ok: false, detail: `NATS ${problem}; reconnecting` };
      return { ok: true, detail: nc.getServer() };
    },
  };
}

async function pingDatabase(db: Kysely<Database>, timeoutMs: number): Promise<HealthCheck> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<HealthCheck>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, detail: `database did not answer select 1 within ${timeoutMs} ms` }),
      timeoutMs,
    );
  });
  const ping = sql`select 1`.execute(db).then(
    (): HealthCheck => ({ ok: true }),
    (err): HealthCheck => ({ ok: false, detail: `database: ${messageOf(err)}` }),
  );
  try {
    return await Promise.race([ping, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** `name: detail` of every failing check, joined. */
function reasonOf(report: HealthReport): string {
  return Object.entries(report.checks)
    .filter(([, c]) => !c.ok)
    .map(([name, c]) => `${name}: ${c.detail ?? "failing"}`)
    .join("; ");
}

/** Calls made while one is running get its result, so a burst of probes costs one check. */
function shareInFlight<T>(fn: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  return () => {
    running ??= fn().finally(() => {
      running = undefined;
    });
    return running;
  };
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { "content-type": contentType, "cache-control": "no-store" });
  res.end(res.req.method === "HEAD" ? undefined : body);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
