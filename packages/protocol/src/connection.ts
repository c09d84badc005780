import { readFileSync } from "node:fs";
import {
  type Authenticator,
  AuthorizationError,
  credsAuthenticator,
  type NatsConnection,
  nkeyAuthenticator,
} from "@nats-io/nats-core";
import { connect, type NodeConnectionOptions } from "@nats-io/transport-node";
import { ConfigError, UnavailableError } from "./errors";

/** `NATS_URL` when unset (CONTRACT.md). */
export const DEFAULT_NATS_URL = "nats://127.0.0.1:4222";

/** The environment variables {@link natsConnectOptionsFromEnv} reads. */
export interface NatsEnv {
  /** Comma-separated server URLs; each may carry `user:password@` or `token@`. */
  readonly NATS_URL?: string | undefined;
  /** Path of a `.creds` file (JWT + NKey seed). */
  readonly NATS_CREDS?: string | undefined;
  /** An NKey user seed (`SU...`), or the path of a file holding one. */
  readonly NATS_NKEY_SEED?: string | undefined;
  /** A token, for servers configured with `authorization { token }`. */
  readonly NATS_TOKEN?: string | undefined;
  /** User and password, as an alternative to putting them in `NATS_URL`. */
  readonly NATS_USER?: string | undefined;
  readonly NATS_PASSWORD?: string | undefined;
  /** PEM file of the CA that signed the servers' certificates. */
  readonly NATS_TLS_CA?: string | undefined;
  /** PEM client certificate and key, for servers that verify clients. */
  readonly NATS_TLS_CERT?: string | undefined;
  readonly NATS_TLS_KEY?: string | undefined;
  /**
   * Inbox prefix for this connection's replies (default `_INBOX`): a client
   * granted only `_INBOX_<name>.>` sets `_INBOX_<name>` (docs/nats-permissions.md).
   */
  readonly NATS_INBOX_PREFIX?: string | undefined;
}

/**
 * Replaces the secret in a URL's user info with `***`: `user:pass@` ->
 * `user:***@`, `token@` -> `***@`. Works on comma-separated lists and never
 * throws, so it is safe on anything that will be logged.
 *
 * @example
 * ```ts
 * redactUrl("nats://app:s3cret@nats-1:4222,nats://tok@nats-2"); // "nats://app:***@nats-1:4222,nats://***@nats-2"
 * ```
 */
export function redactUrl(url: string): string {
  return url
    .split(",")
    .map((part) =>
      // Greedy up to the last `@` before the path: a password may hold a raw `@`.
      part.replace(
        /^(\s*(?:[A-Za-z][A-Za-z0-9+.-]*:\/\/)?)([^/?#]*)@/,
        (_m, scheme: string, userinfo: string) => {
          const colon = userinfo.indexOf(":");
          return `${scheme}${colon >= 0 ? `${userinfo.slice(0, colon)}:***` : "***"}@`;
        },
      ),
    )
    .join(",");
}

/** One server of `NATS_URL`, split into where it is and what it authenticates with. */
export interface ParsedServer {
  /** The server as nats.js takes it, credentials removed (`nats://host:4222`, or `host:4222` as given). */
  readonly server: string;
  /** The URL with its secret replaced by `***`, for logs and errors. */
  readonly redacted: string;
  readonly user?: string;
  readonly pass?: string;
  readonly token?: string;
}

/**
 * Splits a `NATS_URL` value into servers and their credentials.
 *
 * @throws {ConfigError} for an empty list or an unparsable entry.
 */
export function parseNatsUrls(value: string): ParsedServer[] {
  const entries = value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (entries.length === 0) throw new ConfigError("NATS_URL", "names no server");
  return entries.map((entry) => {
    const hasScheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(entry);
    let url: URL;
    try {
      url = new URL(hasScheme ? entry : `nats://${entry}`);
    } catch (cause) {
      throw new ConfigError("NATS_URL", `cannot parse ${JSON.stringify(redactUrl(entry))}`, { cause });
    }
    if (url.hostname === "")
      throw new ConfigError("NATS_URL", `no host in ${JSON.stringify(redactUrl(entry))}`);
    const server = hasScheme ? `${url.protocol}//${url.host}` : url.host;
    const redacted = redactUrl(entry);
    const user = url.username === "" ? undefined : safeDecode(url.username);
    const pass = url.password === "" ? undefined : safeDecode(url.password);
    const userinfo = /^(?:[A-Za-z][A-Za-z0-9+.-]*:\/\/)?([^/?#]*)@/.exec(entry)?.[1] ?? "";
    if (user !== undefined && !userinfo.includes(":")) {
      // `nats://token@host`: a lone user part is a token, as in the other NATS clients.
      return { server, redacted, token: user };
    }
    return {
      server,
      redacted,
      ...(user !== undefined ? { user } : {}),
      ...(pass !== undefined ? { pass } : {}),
    };
  });
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * Options for `connect` from `@nats-io/transport-node`, read from the
 * environment: servers (credentials taken out of the URLs), user/password or
 * token, NKey seed, `.creds` file, TLS files. Reconnects forever
 * (`maxReconnectAttempts: -1`): an engine outlives any single NATS outage.
 *
 * @throws {ConfigError} when the servers carry different credentials or a file cannot be read.
 * @example
 * ```ts
 * const nc = await connect({ ...natsConnectOptionsFromEnv(process.env), name: "agg-cli" });
 * ```
 */
export function natsConnectOptionsFromEnv(env: NatsEnv = process.env): NodeConnectionOptions {
  const parsed = parseNatsUrls(env.NATS_URL?.trim() || DEFAULT_NATS_URL);
  const options: NodeConnectionOptions = {
    servers: parsed.map((p) => p.server),
    maxReconnectAttempts: -1,
    // Fail the first connect at once: "nothing answers" must be a clear error, not a silent wait.
    waitOnFirstConnect: false,
  };
  const inboxPrefix = env.NATS_INBOX_PREFIX?.trim();
  if (inboxPrefix) {
    if (!/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/.test(inboxPrefix)) {
      throw new ConfigError(
        "NATS_INBOX_PREFIX",
        `not a valid subject prefix: ${JSON.stringify(inboxPrefix)}`,
      );
    }
    options.inboxPrefix = inboxPrefix;
  }

  const withCredentials = parsed.filter((p) => p.user !== undefined || p.token !== undefined);
  const first = withCredentials[0];
  if (first) {
    // nats.js has one set of credentials per connection; differing ones would fail on some servers only.
    for (const p of withCredentials) {
      if (p.user !== first.user || p.pass !== first.pass || p.token !== first.token) {
        throw new ConfigError("NATS_URL", "the servers carry different credentials; use one set for all");
      }
    }
    if (first.token !== undefined) options.token = first.token;
    else {
      options.user = first.user;
      options.pass = first.pass ?? "";
    }
  }
  if (env.NATS_USER) {
    options.user = env.NATS_USER;
    options.pass = env.NATS_PASSWORD ?? "";
  }
  if (env.NATS_TOKEN) options.token = env.NATS_TOKEN;

  const authenticators: Authenticator[] = [];
  if (env.NATS_CREDS) authenticators.push(credsAuthenticator(readSetting("NATS_CREDS", env.NATS_CREDS)));
  if (env.NATS_NKEY_SEED) {
    const value = env.NATS_NKEY_SEED.trim();
    const seed = /^S[A-Z][A-Z2-7]+$/.test(value)
      ? new TextEncoder().encode(value)
      : new TextEncoder().encode(new TextDecoder().decode(readSetting("NATS_NKEY_SEED", value)).trim());
    authenticators.push(nkeyAuthenticator(seed));
  }
  if (authenticators.length === 1) options.authenticator = authenticators[0]!;
  else if (authenticators.length > 1) options.authenticator = authenticators;

  const tlsScheme = parsed.some((p) => p.server.startsWith("tls://"));
  if (env.NATS_TLS_CA || env.NATS_TLS_CERT || env.NATS_TLS_KEY || tlsScheme) {
    if (Boolean(env.NATS_TLS_CERT) !== Boolean(env.NATS_TLS_KEY)) {
      throw new ConfigError("NATS_TLS_CERT", "NATS_TLS_CERT and NATS_TLS_KEY must be set together");
    }
    options.tls = {
      ...(env.NATS_TLS_CA ? { caFile: readablePath("NATS_TLS_CA", env.NATS_TLS_CA) } : {}),
      ...(env.NATS_TLS_CERT ? { certFile: readablePath("NATS_TLS_CERT", env.NATS_TLS_CERT) } : {}),
      ...(env.NATS_TLS_KEY ? { keyFile: readablePath("NATS_TLS_KEY", env.NATS_TLS_KEY) } : {}),
    };
  }
  return options;
}

function readSetting(setting: string, path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (cause) {
    throw new ConfigError(setting, `cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? cause}`, {
      cause,
    });
  }
}

function readablePath(setting: string, path: string): string {
  readSetting(setting, path);
  return path;
}

/** Options of {@link connectNats}: a connection name, plus any `connect` option to override. */
export interface ConnectNatsOptions extends Partial<NodeConnectionOptions> {
  /** Shown by the server (`nats server report connections`), e.g. `agg-engine web-1-4242`. */
  readonly name?: string;
}

/**
 * Connects to the NATS named by the environment (see
 * {@link natsConnectOptionsFromEnv}), reconnecting forever once connected.
 * When nothing answers, or the servers refuse the credentials, it throws one
 * {@link UnavailableError} that names the servers (secrets redacted) and the
 * reason, instead of a stack trace loop.
 *
 * @throws {UnavailableError} when no server accepts the connection.
 * @throws {ConfigError} for an invalid environment.
 * @example
 * ```ts
 * const nc = await connectNats(process.env, { name: "agg-cli" });
 * ```
 */
export async function connectNats(
  env: NatsEnv = process.env,
  options: ConnectNatsOptions = {},
): Promise<NatsConnection> {
  const fromEnv = natsConnectOptionsFromEnv(env);
  const servers = parseNatsUrls(env.NATS_URL?.trim() || DEFAULT_NATS_URL)
    .map((p) => p.redacted)
    .join(", ");
  try {
    return await connect({ ...fromEnv, ...options });
  } catch (cause) {
    if (cause instanceof AuthorizationError) {
      throw new UnavailableError(`NATS at ${servers} refused the credentials (${cause.message})`, { cause });
    }
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new UnavailableError(
      `cannot connect to NATS at ${servers} (${redactUrl(reason)}); is nats-server running? set NATS_URL to where it is`,
      { cause },
    );
  }
}

/** `"2.10.3"` -> `[2, 10, 3]`; pre-release tags are ignored. */
function parseVersion(version: string): [number, number, number] {
  const [major = 0, minor = 0, patch = 0] = version
    .replace(/^v/, "")
    .split(/[-+]/)[0]!
    .split(".")
    .map((n) => Number.parseInt(n, 10) || 0);
  return [major, minor, patch];
}

/** Negative, zero or positive as `a` is older than, the same as or newer than `b`. */
export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  for (let i = 0; i < 3; i++) {
    const d = pa[i]! - pb[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Fails early when the connected server is older than a feature needs.
 *
 * @throws {UnavailableError} `"<feature> requires nats-server >= X (connected to Y)"`.
 * @example
 * ```ts
 * requireServerVersion(nc, "2.9.0", "the job queue (JetStream consumers API)");
 * ```
 */
export function requireServerVersion(nc: NatsConnection, minimum: string, feature: string): void {
  const version = nc.info?.version ?? "unknown";
  if (version === "unknown" || compareVersions(version, minimum) < 0) {
    throw new UnavailableError(`${feature} requires nats-server >= ${minimum} (connected to ${version})`);
  }
}
