/**
 * The inspector pointed at a NATS with no engine shows "no instances" rather
 * than failing (issue 5, "bad input"); binding beyond loopback needs a token,
 * and the token is then required on every route.
 */

import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadInspectorConfig, type RunningInspector } from "../src/index";
import { getJson, NATS_URL, openSse, startTestInspector } from "./support";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const noEnginePrefix = `tnoengine${Math.random().toString(36).slice(2, 8)}`;

describe("no engine on the prefix", () => {
  let inspector: RunningInspector;
  beforeAll(async () => {
    inspector = await startTestInspector(noEnginePrefix);
  });
  afterAll(() => inspector?.close());

  it("GET /api/actors is an empty cluster, at once", async () => {
    const started = Date.now();
    const { status, body } = await getJson(`${inspector.url}api/actors`);
    expect(status).toBe(200);
    expect(body).toEqual({ instances: [], actors: [] });
    // No responders is known at once: no waiting for a timeout.
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it("GET /api/events streams empty snapshots, with the reason in the stats", async () => {
    const stream = await openSse(`${inspector.url}api/events`);
    try {
      const snapshot = await stream.next((e) => e.event === "snapshot");
      expect(snapshot.data).toEqual({ instances: [], actors: [] });
      const stats = await stream.next((e) => e.event === "stats");
      expect(stats.data).toMatchObject({ lastInspect: { outcome: "no-responders" }, silentInstances: [] });
    } finally {
      stream.close();
    }
  });

  it("answers agg.inspect replies that are errors or malformed with 502, never a crash", async () => {
    const { connect } = await import("@nats-io/transport-node");
    const nc = await connect({ servers: NATS_URL.split(",") });
    const prefix = `tbadengine${Math.random().toString(36).slice(2, 8)}`;
    const bad = await startTestInspector(prefix);
    try {
      const replies = [
        JSON.stringify({ error: { code: "UNAVAILABLE", message: "stopping" } }),
        "{oops",
        JSON.stringify({ instances: "nope" }),
      ];
      let i = 0;
      nc.subscribe(`${prefix}.inspect`, {
        callback: (_e, m) => {
          m.respond(replies[i++ % replies.length]!);
        },
      });
      await nc.flush();
      const first = await getJson(`${bad.url}api/actors`);
      expect(first).toMatchObject({
        status: 502,
        body: { error: { code: "UNAVAILABLE", message: "stopping" } },
      });
      expect((await getJson(`${bad.url}api/actors`)).status).toBe(502);
      expect((await getJson(`${bad.url}api/actors`)).status).toBe(502);
      expect((await fetch(bad.url)).status).toBe(200);
    } finally {
      await bad.close();
      await nc.close();
    }
  });
});

describe("access", () => {
  const token = "correct-horse-battery-staple";
  let inspector: RunningInspector;
  beforeAll(async () => {
    inspector = await startTestInspector(noEnginePrefix, { token });
  });
  afterAll(() => inspector?.close());

  it("with a token, refuses requests without it and serves those with it", async () => {
    for (const path of ["", "api/actors", "api/events", "api/machines"]) {
      const res = await fetch(`${inspector.url}${path}`);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toContain("Bearer");
    }
    expect(
      (await fetch(`${inspector.url}api/actors`, { headers: { authorization: "Bearer wrong" } })).status,
    ).toBe(401);
    const ok = await getJson(`${inspector.url}api/actors`, { authorization: `Bearer ${token}` });
    expect(ok).toMatchObject({ status: 200, body: { instances: [], actors: [] } });
    const stream = await openSse(`${inspector.url}api/events`, { authorization: `Bearer ${token}` });
    await stream.next((e) => e.event === "hello");
    stream.close();
  });

  it("lets a browser in with /?token=, through an HttpOnly cookie", async () => {
    const res = await fetch(`${inspector.url}?token=${token}`, { redirect: "manual" });
    expect(res.status).toBe(303);
    const cookie = res.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const page = await fetch(inspector.url, { headers: { cookie: cookie.split(";")[0]! } });
    expect(page.status).toBe(200);
    expect((await fetch(`${inspector.url}?token=nope`, { redirect: "manual" })).status).toBe(401);
  });

  it("without a token, answers only loopback host names (no DNS rebinding)", async () => {
    const open = await startTestInspector(noEnginePrefix);
    try {
      const { request } = await import("node:http");
      const status = (host: string) =>
        new Promise<number>((resolve, reject) => {
          const req = request(`${open.url}api/actors`, { headers: { host } }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.once("error", reject);
          req.end();
        });
      expect(await status("evil.example:4800")).toBe(403);
      expect(await status(`localhost:${open.port}`)).toBe(200);
      expect(await status(`127.0.0.1:${open.port}`)).toBe(200);
    } finally {
      await open.close();
    }
  });

  it("refuses to bind beyond loopback without a token", () => {
    expect(() => loadInspectorConfig({ INSPECTOR_HOST: "0.0.0.0" })).toThrow(/INSPECTOR_TOKEN/);
    expect(() => loadInspectorConfig({ INSPECTOR_HOST: "0.0.0.0", INSPECTOR_TOKEN: "short" })).toThrow(/16/);
    expect(loadInspectorConfig({ INSPECTOR_HOST: "0.0.0.0", INSPECTOR_TOKEN: token })).toMatchObject({
      host: "0.0.0.0",
      port: 4800,
    });
    expect(loadInspectorConfig({})).toMatchObject({
      host: "127.0.0.1",
      port: 4800,
      token: undefined,
      prefix: "agg",
    });
    expect(() => loadInspectorConfig({ INSPECTOR_PORT: "http" })).toThrow(/INSPECTOR_PORT/);
  });

  it("pnpm inspector exits 2 with one clear line when told to bind 0.0.0.0 without a token", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "services/inspector/src/main.ts"], {
      cwd: repoRoot,
      env: { ...process.env, NATS_URL, INSPECTOR_HOST: "0.0.0.0", INSPECTOR_TOKEN: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code).toBe(2);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toMatch(/INSPECTOR_TOKEN: is required when INSPECTOR_HOST is not a loopback address/);
  });
});
