/**
 * The third-party clients the benchmark talks through: `pg` and the NATS client.
 *
 * bench/ is not a workspace package, so it has no node_modules of its own and a
 * bare `import "pg"` would not resolve from bench/src/ or bench/dist/. The
 * harness package (test/) depends on exactly these clients, so they are
 * required from there; both are CommonJS packages. The NATS client is typed
 * here by the few members the benchmark uses, since its declarations are not
 * resolvable from bench/ either.
 */
import { createRequire } from "node:module";
import type * as PgModule from "pg";

// bench/src/*.ts and bench/dist/main.js are both two levels below the repository root.
const requireFromHarness = createRequire(new URL("../../test/package.json", import.meta.url));

/** node-postgres, as the harness package resolves it. */
export const pg = requireFromHarness("pg") as typeof PgModule;

/** A received NATS message. */
export interface NatsMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  json<T>(): T;
}

/** A NATS subscription, iterated for its messages. */
export interface NatsSubscription extends AsyncIterable<NatsMessage> {
  unsubscribe(): void;
}

/** The members of nats.js v3's `NatsConnection` the benchmark uses. */
export interface NatsConnection {
  readonly info?: { readonly version?: string };
  request(subject: string, payload: Uint8Array | string, opts: { timeout: number }): Promise<NatsMessage>;
  subscribe(subject: string): NatsSubscription;
  flush(): Promise<void>;
  close(): Promise<void>;
}

interface NatsTransport {
  connect(opts: { servers: string[]; name?: string }): Promise<NatsConnection>;
}

/** Connects to NATS (`servers`: comma-separated URLs) with the client the harness uses. */
export async function connectNats(servers: string, name: string): Promise<NatsConnection> {
  const transport = requireFromHarness("@nats-io/transport-node") as NatsTransport;
  return transport.connect({ servers: servers.split(",").map((s) => s.trim()), name });
}
