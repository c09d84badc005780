import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nkeys } from "@nats-io/nats-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePorts, type NatsServer, startNatsServer } from "../../../test/support/src/nats-server";
import {
  ConfigError,
  compareVersions,
  connectNats,
  natsConnectOptionsFromEnv,
  parseNatsUrls,
  redactUrl,
  requireServerVersion,
  UnavailableError,
} from "../src";

describe("redactUrl", () => {
  it.each([
    ["nats://app:s3cret@nats-1:4222", "nats://app:***@nats-1:4222"],
    ["nats://s3cret-token@nats-1:4222", "nats://***@nats-1:4222"],
    ["app:s3cret@127.0.0.1:4222", "app:***@127.0.0.1:4222"],
    ["tls://u:p%40ss@h", "tls://u:***@h"],
    ["nats://u:p@ss@h:4222", "nats://u:***@h:4222"],
    ["nats://u:@h", "nats://u:***@h"],
    ["nats://127.0.0.1:4222", "nats://127.0.0.1:4222"],
    ["nats://a:x@h1:4222, nats://tok@h2,h3:4222", "nats://a:***@h1:4222, nats://***@h2,h3:4222"],
    ["", ""],
    ["not a url at all", "not a url at all"],
  ])("%s -> %s", (url, redacted) => {
    expect(redactUrl(url)).toBe(redacted);
  });

  it("never leaves a password in any list it is given", () => {
    const secret = "Sup3r-S3cret";
    const urls = [
      `nats://user:${secret}@a:1`,
      `nats://${secret}@b`,
      `wss://user:${secret}@c/path`,
      `user:${secret}@d`,
    ];
    expect(redactUrl(urls.join(","))).not.toContain(secret);
  });
});

describe("natsConnectOptionsFromEnv", () => {
  it("defaults to nats://127.0.0.1:4222 and reconnects forever", () => {
    expect(natsConnectOptionsFromEnv({})).toMatchObject({
      servers: ["nats://127.0.0.1:4222"],
      maxReconnectAttempts: -1,
      waitOnFirstConnect: false,
    });
  });

  it("takes user and password out of the URLs", () => {
    const options = natsConnectOptionsFromEnv({
      NATS_URL: "nats://app:p%40ss@n1:4222,nats://app:p%40ss@n2:4222, n3",
    });
    expect(options.servers).toEqual(["nats://n1:4222", "nats://n2:4222", "n3"]);
    expect(options.user).toBe("app");
    expect(options.pass).toBe("p@ss");
    expect(options.token).toBeUndefined();
  });

  it("reads a lone user part as a token, and NATS_TOKEN", () => {
    expect(natsConnectOptionsFromEnv({ NATS_URL: "nats://t0k3n@h:4222" })).toMatchObject({
      servers: ["nats://h:4222"],
      token: "t0k3n",
    });
    expect(natsConnectOptionsFromEnv({ NATS_TOKEN: "abc" }).token).toBe("abc");
  });

  it("refuses servers with different credentials and empty lists", () => {
    expect(() => natsConnectOptionsFromEnv({ NATS_URL: "nats://a:1@h1,nats://a:2@h2" })).toThrow(ConfigError);
    expect(() => parseNatsUrls(" , ")).toThrow(/names no server/);
  });

  it("reads creds and TLS files, naming the setting (not the content) when one is missing", () => {
    const dir = mkdtempSync(join(tmpdir(), "protocol-env-"));
    try {
      const ca = join(dir, "ca.pem");
      writeFileSync(ca, "-----BEGIN CERTIFICATE-----\n");
      expect(natsConnectOptionsFromEnv({ NATS_TLS_CA: ca }).tls).toEqual({ caFile: ca });
      expect(() => natsConnectOptionsFromEnv({ NATS_CREDS: join(dir, "missing.creds") })).toThrow(
        /^NATS_CREDS: cannot read .*missing\.creds: ENOENT/,
      );
      expect(() => natsConnectOptionsFromEnv({ NATS_TLS_CERT: ca })).toThrow(/must be set together/);
      const creds = join(dir, "user.creds");
      writeFileSync(creds, "not really creds");
      expect(typeof natsConnectOptionsFromEnv({ NATS_CREDS: creds }).authenticator).toBe("function");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("compares server versions", () => {
    expect(compareVersions("2.9.10", "2.9.0")).toBeGreaterThan(0);
    expect(compareVersions("2.10.0", "2.9.99")).toBeGreaterThan(0);
    expect(compareVersions("2.9.0", "2.9.0")).toBe(0);
    expect(compareVersions("2.8.4", "2.9.0")).toBeLessThan(0);
    expect(compareVersions("v2.11.0-beta.1", "2.11.0")).toBe(0);
  });
});

describe("connectNats against real servers", () => {
  const password = "pw-Xq7-secret";
  const token = "tok-8c1-secret";
  const user = nkeys.createUser();
  const seed = new TextDecoder().decode(user.getSeed());
  let withPassword: NatsServer;
  let withToken: NatsServer;
  let withNkey: NatsServer;

  beforeAll(async () => {
    [withPassword, withToken, withNkey] = await Promise.all([
      startNatsServer({ jetstream: false, config: `authorization { user: app, password: "${password}" }` }),
      startNatsServer({ jetstream: false, config: `authorization { token: "${token}" }` }),
      startNatsServer({
        jetstream: false,
        config: `authorization { users: [ { nkey: ${user.getPublicKey()} } ] }`,
      }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([withPassword?.stop(), withToken?.stop(), withNkey?.stop()]);
  });

  it("connects with user and password in NATS_URL", async () => {
    const nc = await connectNats(
      { NATS_URL: `nats://app:${password}@127.0.0.1:${withPassword.port}` },
      { name: "t" },
    );
    expect(nc.info?.server_name).toBe(withPassword.serverName);
    requireServerVersion(nc, "2.9.0", "the engine");
    expect(() => requireServerVersion(nc, "99.0.0", "fast ingest")).toThrow(
      new RegExp(`^fast ingest requires nats-server >= 99\\.0\\.0 \\(connected to ${nc.info?.version}\\)$`),
    );
    await nc.close();
  });

  it("connects with a token in NATS_URL and with an NKey seed", async () => {
    const a = await connectNats({ NATS_URL: `nats://${token}@127.0.0.1:${withToken.port}` });
    await a.close();
    const dir = mkdtempSync(join(tmpdir(), "protocol-nkey-"));
    try {
      const b = await connectNats({ NATS_URL: withNkey.url, NATS_NKEY_SEED: seed });
      await b.close();
      // The seed may also come from a file.
      writeFileSync(join(dir, "seed"), `${seed}\n`);
      const c = await connectNats({ NATS_URL: withNkey.url, NATS_NKEY_SEED: join(dir, "seed") });
      await c.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses wrong credentials with one clear error that does not show the password", async () => {
    const err = await connectNats({
      NATS_URL: `nats://app:wrong-${password}@127.0.0.1:${withPassword.port}`,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UnavailableError);
    const message = (err as Error).message;
    expect(message).toMatch(/refused the credentials/);
    expect(message).toContain(`nats://app:***@127.0.0.1:${withPassword.port}`);
    expect(message).not.toContain(password);
  });

  it("says which servers did not answer when nothing listens", async () => {
    const [a, b] = await freePorts(2);
    const started = Date.now();
    const err = await connectNats({ NATS_URL: `nats://u:hidden@127.0.0.1:${a},127.0.0.1:${b}` }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).code).toBe("UNAVAILABLE");
    expect((err as Error).message).toMatch(
      new RegExp(`^cannot connect to NATS at nats://u:\\*\\*\\*@127\\.0\\.0\\.1:${a}, 127\\.0\\.0\\.1:${b} `),
    );
    expect((err as Error).message).not.toContain("hidden");
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
