/**
 * Helpers of the NATS security tests (issue 7, items 1 and 2): a seeded
 * database per engine, a certificate authority made with openssl, the engine
 * run to its exit, and clients that collect the server's permission errors.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type NatsEnv, natsConnectOptionsFromEnv } from "@agg/protocol";
import { migrateToLatest, openDatabase } from "@agg/store";
import {
  createTestDatabase,
  type EngineProcess,
  generateDataset,
  insertDataset,
  repoRoot,
  type TestDatabase,
} from "@agg/test-support";
import { type NatsConnection, PermissionViolationError } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";

/** A database with a few users and their heartbeats, migrated, ready for an engine. */
export interface SeededDatabase {
  readonly db: TestDatabase;
  readonly userIds: readonly string[];
}

/** Creates a temporary database holding `users` users with three days of heartbeats. */
export async function seededDatabase(seed: number, users = 2): Promise<SeededDatabase> {
  const db = await createTestDatabase();
  const data = generateDataset({ users, days: 3, seed, perDay: 10 });
  const store = await openDatabase({ url: db.url, poolSize: 1 });
  try {
    await migrateToLatest(store.db);
    await insertDataset(store.db, data);
  } finally {
    await store.close();
  }
  return { db, userIds: data.users.map((u) => u.id) };
}

/** Everything an engine printed: its parsed JSON log lines and its stderr (plus any non-JSON stdout). */
export function engineOutput(engine: EngineProcess): string {
  return `${engine.logs.map((l) => JSON.stringify(l)).join("\n")}\n${engine.stderr()}`;
}

/** PEM files of a throw-away certificate authority and what it signed. */
export interface TestPki {
  readonly dir: string;
  readonly caCert: string;
  /** Server certificate for `127.0.0.1` and `localhost`, and its key. */
  readonly serverCert: string;
  readonly serverKey: string;
  /** Client certificate (CN `agg-engine`), and its key. */
  readonly clientCert: string;
  readonly clientKey: string;
  remove(): void;
}

/** Makes a CA, a server certificate for 127.0.0.1/localhost and a client certificate, with openssl (P-256, one day). */
export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), "agg-pki-"));
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => {
    const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`openssl ${args.join(" ")} failed:\n${r.stderr}`);
  };
  const key = (name: string) =>
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", f(name));
  key("ca.key");
  openssl(
    "req",
    "-x509",
    "-new",
    "-key",
    f("ca.key"),
    "-subj",
    "/CN=agg test CA",
    "-days",
    "1",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-out",
    f("ca.pem"),
  );
  const leaf = (name: string, cn: string, ext: string) => {
    key(`${name}.key`);
    openssl("req", "-new", "-key", f(`${name}.key`), "-subj", `/CN=${cn}`, "-out", f(`${name}.csr`));
    writeFileSync(f(`${name}.ext`), ext);
    openssl(
      "x509",
      "-req",
      "-in",
      f(`${name}.csr`),
      "-CA",
      f("ca.pem"),
      "-CAkey",
      f("ca.key"),
      "-CAcreateserial",
      "-days",
      "1",
      "-extfile",
      f(`${name}.ext`),
      "-out",
      f(`${name}.pem`),
    );
  };
  leaf(
    "server",
    "127.0.0.1",
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n",
  );
  leaf("client", "agg-engine", "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n");
  return {
    dir,
    caCert: f("ca.pem"),
    serverCert: f("server.pem"),
    serverKey: f("server.key"),
    clientCert: f("client.pem"),
    clientKey: f("client.key"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** How a run of the engine that was expected to end, ended. */
export interface EngineRun {
  readonly code: number | string;
  readonly stdout: string;
  readonly stderr: string;
  readonly elapsedMs: number;
}

/**
 * Runs the real engine (from source, as `startEngine` does) until it exits,
 * for configurations it must refuse; kills it after `timeoutMs`.
 */
export function runEngineToExit(env: Record<string, string>, timeoutMs = 20_000): Promise<EngineRun> {
  const started = Date.now();
  const child = spawn(process.execPath, ["--import", "tsx", "services/engine/src/main.ts"], {
    cwd: repoRoot,
    env: { ...process.env, LOG_LEVEL: "info", AGG_SCHEDULE: "off", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  return new Promise((resolve) => {
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal ?? "unknown", stdout, stderr, elapsedMs: Date.now() - started });
    });
  });
}

/** A NATS connection that records the permission violations the server reports to it. */
export interface WatchedConnection {
  readonly nc: NatsConnection;
  readonly violations: PermissionViolationError[];
  /** Resolves once a violation matching `operation` and `subject` was reported, or rejects after `timeoutMs`. */
  violation(operation: "publish" | "subscription", subject: string, timeoutMs?: number): Promise<void>;
}

/**
 * Connects as the documented environment says (`NATS_URL`, ...), with
 * `inboxPrefix` when given, and watches the connection's status for
 * permission violations.
 */
export async function connectWatched(env: NatsEnv, inboxPrefix?: string): Promise<WatchedConnection> {
  const nc = await connect({
    ...natsConnectOptionsFromEnv(env),
    maxReconnectAttempts: 0,
    ...(inboxPrefix ? { inboxPrefix } : {}),
  });
  const violations: PermissionViolationError[] = [];
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "error" && s.error instanceof PermissionViolationError) violations.push(s.error);
    }
  })();
  const violation = async (operation: "publish" | "subscription", subject: string, timeoutMs = 3_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!violations.some((v) => v.operation === operation && v.subject === subject)) {
      if (Date.now() > deadline) {
        throw new Error(
          `no ${operation} violation for ${subject}; seen: ${violations.map((v) => v.message).join("; ") || "none"}`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { nc, violations, violation };
}
