import type { AddressInfo } from "node:net";
import { batchCoordinatorMachine, describeMachine, userAggregatorMachine } from "@agg/machines";
import { connectNats, type NatsEnv } from "@agg/protocol";
import type { NatsConnection } from "@nats-io/nats-core";
import { ClusterWatch } from "./cluster-watch";
import { createInspectorServer } from "./http-server";
import type { InspectorConfig } from "./inspector-config";
import { type JsonLog, silentLog } from "./json-log";

/** Options of {@link startInspector}. */
export interface StartInspectorOptions {
  readonly config: InspectorConfig;
  /** A connection to use (tests); otherwise one is opened from {@link env} and closed on `close()`. */
  readonly nc?: NatsConnection;
  /** Where `NATS_URL`, `NATS_CREDS`, ... are read when no connection is given. Default `process.env`. */
  readonly env?: NatsEnv;
  readonly log?: JsonLog;
}

/** A running inspector. */
export interface RunningInspector {
  /** `http://host:port/`, with the port actually bound. */
  readonly url: string;
  readonly port: number;
  readonly watch: ClusterWatch;
  /** Ends the page streams, closes the server and the connection it opened. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts `pnpm inspector`: connects to NATS, watches the engines on the
 * configured prefix and serves the page and its API.
 *
 * @throws {UnavailableError} when NATS cannot be reached.
 * @example
 * ```ts
 * const inspector = await startInspector({ config: loadInspectorConfig({ INSPECTOR_PORT: "0" }) });
 * console.log(inspector.url); // http://127.0.0.1:41873/
 * await inspector.close();
 * ```
 */
export async function startInspector(options: StartInspectorOptions): Promise<RunningInspector> {
  const { config } = options;
  const log = options.log ?? silentLog;
  const nc = options.nc ?? (await connectNats(options.env ?? process.env, { name: "agg-inspector" }));
  const ownsConnection = options.nc === undefined;
  const watch = new ClusterWatch({ nc, prefix: config.prefix, refreshMs: config.refreshMs });
  watch.start();
  const http = createInspectorServer({
    watch,
    machines: [describeMachine(userAggregatorMachine), describeMachine(batchCoordinatorMachine)],
    token: config.token,
    refreshMs: config.refreshMs,
    log,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      http.server.once("error", reject);
      http.server.listen(config.port, config.host, () => {
        http.server.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    watch.stop();
    if (ownsConnection) await nc.close().catch(() => undefined);
    throw err;
  }
  const port = (http.server.address() as AddressInfo).port;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}/`,
    port,
    watch,
    close: () => {
      closing ??= (async () => {
        watch.stop();
        await http.close();
        if (ownsConnection) await nc.drain().catch(() => undefined);
      })();
      return closing;
    },
  };
}
