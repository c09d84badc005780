import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { MachineDescription } from "@agg/machines";
import type { ClusterWatch } from "./cluster-watch";
import { isLoopback } from "./inspector-config";
import type { JsonLog } from "./json-log";
import { renderPage } from "./page/render-page";

/** Options of {@link createInspectorServer}. */
export interface InspectorServerOptions {
  readonly watch: ClusterWatch;
  /** The statecharts served on `/api/machines`. */
  readonly machines: readonly MachineDescription[];
  /** When set, every request must carry it (`Authorization: Bearer`, or the cookie `/?token=` sets). */
  readonly token: string | undefined;
  readonly refreshMs: number;
  readonly log: JsonLog;
  /** Milliseconds between SSE keep-alive comments. Default 15 000. */
  readonly keepAliveMs?: number;
}

/** The inspector's HTTP server plus what it needs to shut down promptly. */
export interface InspectorServer {
  readonly server: Server;
  /** Ends the live streams and closes the server. */
  close(): Promise<void>;
}

const COOKIE = "agg_inspector_token";
const JSON_TYPE = "application/json; charset=utf-8";

/**
 * The routes of `pnpm inspector`:
 *
 * - `GET /`: the page (one self-contained HTML document, scripts allowed by a per-response nonce)
 * - `GET /api/actors`: the `agg.inspect` reply as is; `{"instances": [], "actors": []}` when no engine answers
 * - `GET /api/events`: Server-Sent Events: `snapshot` (the `agg.inspect` reply) every refresh,
 *   `inspection` (the instances' live actor events), `stats` (footer counters)
 * - `GET /api/machines`: `{ machines: MachineDescription[] }`, the statecharts to draw
 * - `GET /api/timeline?instance=I&id=A`: one actor's recent history
 * - `GET /healthz`
 */
export function createInspectorServer(options: InspectorServerOptions): InspectorServer {
  const { watch, token, log } = options;
  const streams = new Set<ServerResponse>();
  const machinesBody = JSON.stringify({ machines: options.machines });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://inspector.invalid");
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      return sendJson(res, 405, {
        error: { code: "METHOD_NOT_ALLOWED", message: `${req.method} is not served` },
      });
    }
    if (token === undefined) {
      // Without a token the server only ever answers pages of this machine: a foreign Host
      // header means a DNS-rebinding page trying to read the cluster.
      if (!isLoopback(hostnameOf(req.headers.host))) {
        return sendJson(res, 403, {
          error: { code: "FORBIDDEN", message: "only loopback host names are served" },
        });
      }
    } else if (url.pathname === "/" && url.searchParams.has("token")) {
      if (!sameSecret(url.searchParams.get("token") ?? "", token)) return unauthorized(res);
      res.writeHead(303, {
        location: "/",
        "set-cookie": `${COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
        "cache-control": "no-store",
      });
      res.end();
      return;
    } else if (!authorized(req, token)) {
      return unauthorized(res);
    }

    switch (url.pathname) {
      case "/":
      case "/index.html":
        return sendPage(res, watch.subjects.prefix, options.refreshMs);
      case "/api/actors": {
        const outcome = await watch.inspect();
        if (outcome.kind === "error") return sendJson(res, outcome.status, outcome.body);
        return sendJson(res, 200, outcome.reply);
      }
      case "/api/events":
        return openStream(req, res);
      case "/api/machines":
        res.writeHead(200, { "content-type": JSON_TYPE, "cache-control": "no-store" });
        res.end(machinesBody);
        return;
      case "/api/timeline": {
        const instance = url.searchParams.get("instance");
        const id = url.searchParams.get("id");
        if (!instance || !id) {
          return sendJson(res, 400, {
            error: { code: "BAD_REQUEST", message: "instance and id are required" },
          });
        }
        return sendJson(res, 200, { instance, id, events: watch.history(instance, id) });
      }
      case "/healthz":
        return sendJson(res, 200, { ok: true, nats: watch.stats().nats });
      default:
        return sendJson(res, 404, { error: { code: "NOT_FOUND", message: `no route ${url.pathname}` } });
    }
  };

  const openStream = (req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    res.write(
      `retry: 2000\nevent: hello\ndata: ${JSON.stringify({ prefix: watch.subjects.prefix, refreshMs: options.refreshMs })}\n\n`,
    );
    streams.add(res);
    const send = (event: string, data: unknown, droppable: boolean) => {
      // A page that cannot keep up misses live events (the next snapshot corrects it), never snapshots.
      if (droppable && res.writableNeedDrain) return;
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const unlisten = watch.listen({
      snapshot: (reply) => send("snapshot", reply, false),
      inspection: (delivery) => send("inspection", delivery, true),
      stats: (stats) => send("stats", stats, true),
    });
    const keepAlive = setInterval(() => res.write(": keep-alive\n\n"), options.keepAliveMs ?? 15_000);
    keepAlive.unref();
    const end = () => {
      clearInterval(keepAlive);
      unlisten();
      streams.delete(res);
    };
    // The response's close: the page went away (or the server is closing).
    res.once("close", end);
    res.once("error", end);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      log.error({ err, path: req.url }, "request failed");
      if (!res.headersSent) sendJson(res, 500, { error: { code: "INTERNAL", message: "internal error" } });
      else res.destroy();
    });
  });

  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of streams) res.end();
        streams.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function sendPage(res: ServerResponse, prefix: string, refreshMs: number): void {
  const nonce = randomBytes(16).toString("base64");
  const body = renderPage({ nonce, prefix, refreshMs });
  res.writeHead(200, {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "content-security-policy": [
      "default-src 'none'",
      `script-src 'nonce-${nonce}'`,
      `style-src 'nonce-${nonce}'`,
      "connect-src 'self'",
      "img-src 'self' data:",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join("; "),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": JSON_TYPE, "cache-control": "no-store" });
  res.end(JSON.stringify(body));
}

function unauthorized(res: ServerResponse): void {
  res.setHeader("www-authenticate", 'Bearer realm="agg inspector"');
  sendJson(res, 401, {
    error: {
      code: "UNAUTHORIZED",
      message: "send Authorization: Bearer <INSPECTOR_TOKEN>, or open /?token=<INSPECTOR_TOKEN>",
    },
  });
}

function authorized(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization;
  if (header?.startsWith("Bearer ") && sameSecret(header.slice(7).trim(), token)) return true;
  const cookie = req.headers.cookie
    ?.split(";")
    .map((c) => c.trim())
    .find((c) => c.startsWith(`${COOKIE}=`));
  if (cookie === undefined) return false;
  try {
    return sameSecret(decodeURIComponent(cookie.slice(COOKIE.length + 1)), token);
  } catch {
    return false;
  }
}

/** Constant-time comparison, so the token cannot be guessed byte by byte from response times. */
function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function hostnameOf(host: string | undefined): string {
  if (!host) return "";
  try {
    return new URL(`http://${host}`).hostname;
  } catch {
    return "";
  }
}
