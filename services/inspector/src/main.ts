/**
 * `pnpm inspector` / `node services/inspector/dist/main.js`: the state
 * inspector's web page and API. Exit codes: 0 after SIGTERM/SIGINT, 2 for bad
 * configuration, 3 when NATS cannot be reached or the port cannot be bound,
 * 1 for anything unexpected.
 */
import { ConfigError } from "@agg/protocol";
import { loadInspectorConfig } from "./inspector-config";
import { createJsonLog } from "./json-log";
import { startInspector } from "./start-inspector";

async function main(): Promise<number> {
  let config: ReturnType<typeof loadInspectorConfig>;
  try {
    config = loadInspectorConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`agg inspector: bad configuration: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const log = createJsonLog({ name: "agg-inspector" });
  let inspector: Awaited<ReturnType<typeof startInspector>>;
  try {
    inspector = await startInspector({ config, log });
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === "UNAVAILABLE" || e.code === "EADDRINUSE" || e.code === "EACCES") {
      process.stderr.write(`agg inspector: ${e.message ?? String(err)}\n`);
      return 3;
    }
    throw err;
  }
  log.info(
    { url: inspector.url, prefix: config.prefix, auth: config.token ? "bearer" : "loopback" },
    "inspector listening",
  );
  return new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      log.info({ signal }, "stopping");
      inspector.close().then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
}

main().then(
  (code) => {
    process.exitCode = code;
    setImmediate(() => process.exit(code));
  },
  (err) => {
    process.stderr.write(`agg inspector: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
