import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { resolve } from "node:path";
import type { Logger } from "pino";

/** The default NATS address when `NATS_URL` is unset. */
export const DEFAULT_NATS = { host: "127.0.0.1", port: 4222 } as const;

/** True when something accepts TCP connections at host:port within `timeoutMs`. */
export function isListening(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((done) => {
    const socket = tcpConnect({ host, port });
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once("connect", () => finish(true));
    socket.once("error", () => finish(false));
  });
}

/** No NATS answers and none can be started: reported as one line, exit code 3. */
export class NatsNotInstalledError extends Error {
  readonly code = "UNAVAILABLE";
}

/**
 * Zero-configuration mode: when `NATS_URL` is unset and nothing listens on
 * 127.0.0.1:4222, start a `nats-server` from PATH with JetStream under
 * `<dataDir>/nats`. It is a child of the engine and stops with it.
 * @returns a stop function, or null when a server was already running.
 */
export async function ensureLocalNats(dataDir: string, log: Logger): Promise<(() => void) | null> {
  if (await isListening(DEFAULT_NATS.host, DEFAULT_NATS.port)) return null;
  const storeDir = resolve(dataDir, "nats");
  mkdirSync(storeDir, { recursive: true });
  const child = spawn(
    "nats-server",
    ["-a", DEFAULT_NATS.host, "-p", String(DEFAULT_NATS.port), "-js", "-sd", storeDir],
    { stdio: ["ignore", "ignore", "pipe"], detached: false },
  );
  const spawnError = new Promise<Error>((res) => child.once("error", res));
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const failed = await Promise.race([spawnError, new Promise<null>((r) => setTimeout(() => r(null), 100))]);
    if (failed) {
      throw new NatsNotInstalledError(
        "no NATS server answers at nats://127.0.0.1:4222 and `nats-server` is not on PATH: " +
          "install it (Debian/Ubuntu: `apt-get install nats-server`; or https://docs.nats.io) or set NATS_URL",
      );
    }
    if (child.exitCode !== null) {
      throw new NatsNotInstalledError(
        `the local nats-server exited at once (code ${child.exitCode}); set NATS_URL`,
      );
    }
    if (await isListening(DEFAULT_NATS.host, DEFAULT_NATS.port)) {
      log.info({ storeDir, pid: child.pid }, "started a local nats-server with JetStream");
      return () => child.kill("SIGTERM");
    }
  }
  child.kill("SIGKILL");
  throw new NatsNotInstalledError("the local nats-server did not start within 10 s; set NATS_URL");
}
