import { connect } from "@nats-io/transport-node";
import { type InspectorConfig, type RunningInspector, startInspector } from "../src/index";

/** The NATS server the tests use: `NATS_URL`, else the machine's default. */
export const NATS_URL = process.env.NATS_URL || "nats://127.0.0.1:4222";

/** One parsed Server-Sent Event. */
export interface SseEvent {
  readonly event: string;
  readonly data: unknown;
}

/** A Server-Sent Events stream read by a test. */
export interface SseStream {
  readonly events: SseEvent[];
  /** Resolves with the first event (already received or future) matching `pred`. */
  next(pred: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  close(): void;
}

/** Opens `url` as an event stream, parsing `event:` / `data:` blocks as JSON. */
export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  const abort = new AbortController();
  const res = await fetch(url, {
    headers: { accept: "text/event-stream", ...headers },
    signal: abort.signal,
  });
  if (!res.ok || !res.body) throw new Error(`SSE ${url}: HTTP ${res.status}`);
  const events: SseEvent[] = [];
  const waiters: { pred: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }[] = [];
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  void (async () => {
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf("\n\n");
          let event = "message";
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event: ")) event = line.slice(7);
            else if (line.startsWith("data: ")) data.push(line.slice(6));
          }
          if (data.length === 0) continue;
          const parsed: SseEvent = { event, data: JSON.parse(data.join("\n")) };
          events.push(parsed);
          for (const w of [...waiters]) {
            if (w.pred(parsed)) {
              waiters.splice(waiters.indexOf(w), 1);
              w.resolve(parsed);
            }
          }
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    events,
    next: (pred, timeoutMs = 10_000) => {
      const found = events.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(
            new Error(
              `no matching SSE event within ${timeoutMs} ms; got: ${events.map((e) => e.event).join(", ")}`,
            ),
          );
        }, timeoutMs);
        waiters.push({
          pred,
          resolve: (e) => {
            clearTimeout(timer);
            resolve(e);
          },
        });
      });
    },
    close: () => abort.abort(),
  };
}

/** An in-process inspector on a random port, with its own NATS connection (closed by `close()`). */
export async function startTestInspector(
  prefix: string,
  overrides: Partial<InspectorConfig> = {},
): Promise<RunningInspector> {
  const nc = await connect({ servers: NATS_URL.split(",") });
  const inspector = await startInspector({
    config: { host: "127.0.0.1", port: 0, token: undefined, prefix, refreshMs: 250, ...overrides },
    nc,
  });
  return {
    ...inspector,
    close: async () => {
      await inspector.close();
      await nc.close();
    },
  };
}

export async function getJson(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}
