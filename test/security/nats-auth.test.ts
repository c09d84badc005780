/**
 * Issue 7, item 1: the engine on a NATS that requires credentials. Each case
 * starts a real nats-server with a temporary config, runs the real engine with
 * the credentials given the documented way, completes a batch through a
 * client, and checks that the secret appears nowhere in the engine's output.
 * A refused connection is one clear line and exit code 3.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { AggClient, connectNats, type NatsEnv, UnavailableError } from "@agg/protocol";
import {
  type EngineProcess,
  type NatsServer,
  startEngine,
  startNatsServer,
  uniquePrefix,
} from "@agg/test-support";
import { nkeys } from "@nats-io/nats-core";
import { afterAll, describe, expect, it } from "vitest";
import {
  createTestPki,
  engineOutput,
  runEngineToExit,
  type SeededDatabase,
  seededDatabase,
  type TestPki,
} from "./security-support";

const pki: TestPki = createTestPki();
const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  pki.remove();
});

function secret(label: string): string {
  return `${label}-${randomBytes(12).toString("hex")}`;
}

/** One authenticated setup: a server config, and the environment that reaches it. */
interface AuthCase {
  readonly name: string;
  /** Extra nats-server config text. */
  readonly config: string;
  /** The engine's (and the client's) NATS environment for a server on `url`. */
  readonly env: (url: string) => NatsEnv & Record<string, string>;
  /** Strings that must never be printed. */
  readonly secrets: readonly string[];
}

const password = secret("pw");
const token = secret("tok");
const nkey = nkeys.createUser();
const nkeySeed = new TextDecoder().decode(nkey.getSeed());

const cases: AuthCase[] = [
  {
    name: "user and password in NATS_URL",
    config: `authorization {\n  users = [{ user: "agg", password: "${password}" }]\n}`,
    env: (url) => ({ NATS_URL: url.replace("nats://", `nats://agg:${password}@`) }),
    secrets: [password],
  },
  {
    name: "token in NATS_TOKEN",
    config: `authorization {\n  token: "${token}"\n}`,
    env: (url) => ({ NATS_URL: url, NATS_TOKEN: token }),
    secrets: [token],
  },
  {
    name: "NKey seed in NATS_NKEY_SEED",
    config: `authorization {\n  users = [{ nkey: "${nkey.getPublicKey()}" }]\n}`,
    env: (url) => ({ NATS_URL: url, NATS_NKEY_SEED: nkeySeed }),
    secrets: [nkeySeed],
  },
  {
    name: "TLS with a custom CA (NATS_TLS_CA) and a verified client certificate",
    config: [
      "tls {",
      `  cert_file: "${pki.serverCert}"`,
      `  key_file: "${pki.serverKey}"`,
      `  ca_file: "${pki.caCert}"`,
      "  verify: true",
      "  timeout: 3",
      "}",
    ].join("\n"),
    env: (url) => ({
      NATS_URL: url,
      NATS_TLS_CA: pki.caCert,
      NATS_TLS_CERT: pki.clientCert,
      NATS_TLS_KEY: pki.clientKey,
    }),
    // The private key's PEM body: read from its file, never printed.
    secrets: [readFileSync(pki.clientKey, "utf8").split("\n")[1]!],
  },
];

describe("the engine on an authenticated NATS", () => {
  it.concurrent.each(cases.map((c, i) => [c.name, c, i] as const))(
    "%s: connects, completes a batch, never prints the secret",
    async (_name, authCase, i) => {
      const server: NatsServer = await startNatsServer({ config: authCase.config });
      cleanups.push(() => server.stop());
      const seeded: SeededDatabase = await seededDatabase(100 + i);
      cleanups.push(() => seeded.db.drop());
      const prefix = uniquePrefix(`auth${i}`);
      const env = authCase.env(server.url);

      const engine: EngineProcess = await startEngine(`auth-${i}`, {
        ...env,
        DATABASE_URL: seeded.db.url,
        AGG_PREFIX: prefix,
      });
      cleanups.push(() => engine.stop());

      const nc = await connectNats(env, { name: "agg-test-client", maxReconnectAttempts: 0 });
      cleanups.push(() => nc.close());
      const client = new AggClient(nc, { prefix });
      const { accepted, final } = await client.requestAndWait(
        { users: [...seeded.userIds], mode: "regenerate" },
        { timeoutMs: 30_000, pollIntervalMs: 500 },
      );
      expect(final).toMatchObject({
        batchId: accepted.batchId,
        state: "completed",
        users: seeded.userIds.length,
        done: seeded.userIds.length,
      });

      expect(await engine.stop()).toBe(0);
      const output = engineOutput(engine);
      expect(output).toContain("engine started");
      for (const s of authCase.secrets) expect(output).not.toContain(s);
      expect(output).not.toMatch(/PRIVATE KEY/);
    },
    60_000,
  );
});

describe("a refused connection", () => {
  it("wrong password: one clear fatal line, exit code 3, within seconds, the password nowhere", async () => {
    const server = await startNatsServer({
      config: `authorization {\n  users = [{ user: "agg", password: "${password}" }]\n}`,
    });
    cleanups.push(() => server.stop());
    const wrong = secret("wrong");
    const run = await runEngineToExit({
      NATS_URL: server.url.replace("nats://", `nats://agg:${wrong}@`),
      DATABASE_URL: "postgres://postgres@127.0.0.1:5432/agg_never_reached",
      AGG_PREFIX: uniquePrefix("refused"),
    });

    expect(run.code).toBe(3);
    expect(run.elapsedMs).toBeLessThan(10_000);
    expect(run.stderr).toBe("");
    const lines = run.stdout.split("\n").filter((l) => l.trim() !== "");
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 60, code: "UNAVAILABLE" });
    expect(line.msg).toMatch(/refused the credentials/);
    expect(line.msg).toContain("nats://agg:***@127.0.0.1");
    expect(line).not.toHaveProperty("err");
    expect(`${run.stdout}${run.stderr}`).not.toContain(wrong);
    expect(`${run.stdout}${run.stderr}`).not.toMatch(/\n\s+at /);
  });

  it("a client without the CA cannot connect to the TLS server", async () => {
    const server = await startNatsServer({ config: cases[3]!.config });
    cleanups.push(() => server.stop());
    await expect(connectNats({ NATS_URL: server.url })).rejects.toThrow(
      /cannot connect to NATS .*unable to verify the first certificate/,
    );
    // With the CA but no client certificate (verify: true), TLS 1.3 completes the handshake and the
    // server then drops the connection: nats.js only notices at its connect timeout, shortened here.
    await expect(
      connectNats({ NATS_URL: server.url, NATS_TLS_CA: pki.caCert }, { timeout: 2_000 }),
    ).rejects.toBeInstanceOf(UnavailableError);
  });
});
