import { existsSync } from "node:fs";
import { jetstream, jetstreamManager, type StreamInfo } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  getMonitorJson,
  type NatsCluster,
  natsUrlForTests,
  startNatsCluster,
  startNatsServer,
} from "../../../test/support/src/nats-server";
import { connectNats, createSubjects } from "../src";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Retries `fn` until it resolves or `timeoutMs` passes (a cluster electing a leader answers errors meanwhile). */
async function eventually<T>(fn: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(200);
    }
  }
}

describe("natsUrlForTests", () => {
  it("uses NATS_URL when set, else the default server", () => {
    expect(natsUrlForTests({ NATS_URL: "nats://h:1" })).toBe("nats://h:1");
    expect(natsUrlForTests({})).toBe("nats://127.0.0.1:4222");
  });
});

describe("startNatsServer", () => {
  it("runs a JetStream server on a random port that survives a crash and is cleaned up on stop", async () => {
    const [a, b] = await Promise.all([startNatsServer(), startNatsServer({ monitor: true })]);
    try {
      expect(a.port).not.toBe(b.port);
      expect(a.url).toBe(`nats://127.0.0.1:${a.port}`);
      expect(b.monitorUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await getMonitorJson<{ server_name: string }>(b.monitorUrl!, "/varz")).toMatchObject({
        server_name: b.serverName,
      });

      const names = createSubjects("harness").names;
      let nc = await connect({ servers: a.url, reconnect: false });
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: names.jobsStream, subjects: ["harness.x.jobs.>"] });
      await jetstream(nc).publish("harness.x.jobs.p1", "job");
      await nc.close();

      await a.kill("SIGHUP"); // a config reload, not an exit
      expect(a.running).toBe(true);
      await a.kill("SIGKILL");
      expect(a.running).toBe(false);
      await expect(connect({ servers: a.url, reconnect: false })).rejects.toThrow();

      await a.restart();
      expect(a.running).toBe(true);
      nc = await connect({ servers: a.url });
      const info = await (await jetstreamManager(nc)).streams.info(names.jobsStream);
      expect(info.state.messages).toBe(1);
      await nc.close();
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    expect(a.running).toBe(false);
    expect(existsSync(a.storeDir)).toBe(false);
    expect(existsSync(b.storeDir)).toBe(false);
  });

  it("applies extra config text (here: a password) and extra args", async () => {
    const server = await startNatsServer({
      jetstream: false,
      config: 'authorization { user: u, password: "p4ss" }\nmax_payload: 2048',
      args: ["-D"],
    });
    try {
      await expect(connect({ servers: server.url, reconnect: false })).rejects.toThrow(/Authorization/i);
      const nc = await connectNats({ NATS_URL: `nats://u:p4ss@127.0.0.1:${server.port}` });
      expect(nc.info?.max_payload).toBe(2048);
      expect(nc.info?.jetstream ?? false).toBe(false);
      await nc.close();
      // -D: debug logging, visible in the captured log.
      expect(server.logs()).toMatch(/\[DBG\]/);
    } finally {
      await server.stop();
    }
  });

  it("reports a config the server refuses, with its log", async () => {
    await expect(startNatsServer({ config: "this is { not valid" })).rejects.toThrow(/nats-server exited/);
  });
});

describe("startNatsCluster", () => {
  let cluster: NatsCluster;

  beforeAll(async () => {
    cluster = await startNatsCluster(3);
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it("forms a routed cluster with JetStream on every node", async () => {
    expect(cluster.nodes).toHaveLength(3);
    expect(cluster.urls.split(",")).toEqual(cluster.nodes.map((n) => n.url));
    for (const node of cluster.nodes) {
      const routes = await getMonitorJson<{ num_routes: number }>(node.monitorUrl!, "/routez");
      expect(routes.num_routes).toBeGreaterThanOrEqual(2);
    }
  });

  it("holds an R3 stream that keeps working when the stream leader's node stops, and takes the node back", async () => {
    const nc = await connectNats(
      { NATS_URL: cluster.urls },
      { name: "harness-test", reconnectTimeWait: 100 },
    );
    try {
      const jsm = await jetstreamManager(nc);
      const js = jetstream(nc);
      const stream = "HARNESS_R3";
      await eventually(() => jsm.streams.add({ name: stream, subjects: ["r3.>"], num_replicas: 3 }));
      for (let i = 0; i < 10; i++) await js.publish(`r3.${i}`, `m${i}`);

      const before: StreamInfo = await jsm.streams.info(stream);
      expect(before.config.num_replicas).toBe(3);
      expect(before.cluster?.replicas).toHaveLength(2);
      const leader = before.cluster?.leader;
      const victim = cluster.nodes.findIndex((n) => n.serverName === leader);
      expect(victim).toBeGreaterThanOrEqual(0);

      await cluster.stopNode(victim);
      expect(cluster.nodes[victim]!.running).toBe(false);
      // A new stream leader is elected among the two left; writes go on.
      await eventually(() => js.publish("r3.after", "survived", { timeout: 2_000 }));
      const during = await eventually(async () => {
        const info = await jsm.streams.info(stream);
        if (!info.cluster?.leader || info.cluster.leader === leader) throw new Error("no new leader yet");
        return info;
      });
      expect(during.state.messages).toBe(11);

      await cluster.startNode(victim);
      await cluster.waitForJetStream();
      const after = await eventually(async () => {
        const info = await jsm.streams.info(stream);
        const back = info.cluster?.replicas?.find((r) => r.name === leader);
        if (!back?.current) throw new Error("the restarted node has not caught up yet");
        return info;
      });
      expect(after.state.messages).toBe(11);
    } finally {
      await nc.close();
    }
  }, 90_000);
});
