/**
 * `pnpm start` / `node services/engine/dist/main.js`: one engine instance in the foreground.
 * Exit codes: 0 after a graceful stop, 2 for bad configuration, 3 when NATS or the
 * database cannot be reached, 1 for anything unexpected.
 */
import pino from "pino";
import { ConfigError, loadConfig } from "./config";
import { Engine } from "./engine";

async function main(): Promise<number> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`agg engine: bad configuration: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const log = pino({ level: config.logLevel, base: { instance: config.instance } });
  let engine: Engine;
  try {
    engine = await Engine.start(config, log);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === "UNAVAILABLE") {
      log.fatal({ code: e.code }, e.message ?? String(err));
      return 3;
    }
    if (/permissions violation/i.test(e.message ?? "")) {
      log.fatal(
        { code: "UNAVAILABLE" },
        `NATS refused a subject this engine needs: ${e.message} (see docs/nats-permissions.md)`,
      );
      return 3;
    }
    if (e.code === "EADDRINUSE" || e.code === "EACCES" || e.code === "EADDRNOTAVAIL") {
      // The health/metrics endpoint cannot bind: a configuration problem, said in one line.
      log.fatal(
        { code: e.code },
        `cannot serve /healthz and /metrics on ${config.metricsHost}:${config.metricsPort} (${e.code})`,
      );
      return 2;
    }
    log.fatal({ err }, "engine failed to start");
    return 1;
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, "stopping: no new work; finishing or handing back what is in flight");
      engine.stop().then(
        () => resolve(0),
        (err) => {
          log.error({ err }, "error while stopping");
          resolve(1);
        },
      );
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
}

main().then(
  (code) => {
    // pino writes synchronously to stdout by default; exit once the loop is drained.
    process.exitCode = code;
    setImmediate(() => process.exit(code));
  },
  (err) => {
    process.stderr.write(`agg engine: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
