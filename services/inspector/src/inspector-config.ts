import { ConfigError, DEFAULT_PREFIX, isValidPrefix } from "@agg/protocol";

/** `INSPECTOR_PORT` when unset (CONTRACT.md). */
export const DEFAULT_INSPECTOR_PORT = 4800;
/** `INSPECTOR_HOST` when unset: this machine only. */
export const DEFAULT_INSPECTOR_HOST = "127.0.0.1";

/** What `pnpm inspector` is told through its environment. */
export interface InspectorConfig {
  /** Interface to bind (`INSPECTOR_HOST`). */
  readonly host: string;
  /** TCP port (`INSPECTOR_PORT`); 0 picks a free one. */
  readonly port: number;
  /** Bearer token every request must carry (`INSPECTOR_TOKEN`); required when {@link host} is not loopback. */
  readonly token: string | undefined;
  /** Subject prefix of the engines to watch (`AGG_PREFIX`). */
  readonly prefix: string;
  /** Milliseconds between two `agg.inspect` snapshots pushed to the page (`INSPECTOR_REFRESH_MS`). */
  readonly refreshMs: number;
}

/** The variables {@link loadInspectorConfig} reads. */
export interface InspectorEnv {
  readonly INSPECTOR_HOST?: string | undefined;
  readonly INSPECTOR_PORT?: string | undefined;
  readonly INSPECTOR_TOKEN?: string | undefined;
  readonly INSPECTOR_REFRESH_MS?: string | undefined;
  readonly AGG_PREFIX?: string | undefined;
}

/**
 * Reads the inspector's configuration. Binding anywhere but loopback exposes
 * every actor of the cluster, so it is refused without a token.
 *
 * @throws {ConfigError} naming the variable at fault.
 * @example
 * ```ts
 * loadInspectorConfig({ INSPECTOR_PORT: "4900" }); // { host: "127.0.0.1", port: 4900, token: undefined, ... }
 * loadInspectorConfig({ INSPECTOR_HOST: "0.0.0.0" }); // throws: INSPECTOR_TOKEN is required ...
 * ```
 */
export function loadInspectorConfig(env: InspectorEnv = process.env): InspectorConfig {
  const host = env.INSPECTOR_HOST?.trim() || DEFAULT_INSPECTOR_HOST;
  const port = parseInteger("INSPECTOR_PORT", env.INSPECTOR_PORT, DEFAULT_INSPECTOR_PORT, 0, 65_535);
  const refreshMs = parseInteger("INSPECTOR_REFRESH_MS", env.INSPECTOR_REFRESH_MS, 500, 100, 60_000);
  const token = env.INSPECTOR_TOKEN?.trim() || undefined;
  const prefix = env.AGG_PREFIX?.trim() || DEFAULT_PREFIX;
  if (!isValidPrefix(prefix)) {
    throw new ConfigError(
      "AGG_PREFIX",
      `expected dot-separated tokens of A-Z a-z 0-9 _ -, got ${JSON.stringify(prefix)}`,
    );
  }
  if (!isLoopback(host) && token === undefined) {
    throw new ConfigError(
      "INSPECTOR_TOKEN",
      `is required when INSPECTOR_HOST is not a loopback address (got ${host}); every request must then carry "Authorization: Bearer <token>"`,
    );
  }
  if (token !== undefined && token.length < 16) {
    throw new ConfigError("INSPECTOR_TOKEN", "must be at least 16 characters");
  }
  return { host, port, token, prefix, refreshMs };
}

/** True for addresses only this machine can reach: `127.0.0.0/8`, `::1`, `localhost`. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h);
}

function parseInteger(
  name: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined || value.trim() === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(name, `expected an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}
