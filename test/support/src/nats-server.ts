/**
 * Real nats-servers for tests: one per test (or a cluster of three), each on
 * random ports with its own temporary store directory, removed on stop. No
 * fake broker: what the tests talk to is the server production runs.
 *
 * Only Node built-ins here, so any package's tests can use it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { createServer, connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

/** Where the nats-server NATS_URL points at when a test does not start its own. */
export const DEFAULT_TEST_NATS_URL = "nats://127.0.0.1:4222";

/** `NATS_URL` when set, else the machine's default server (`nats://127.0.0.1:4222`). */
export function natsUrlForTests(env: NodeJS.ProcessEnv = process.env): string {
  return env.NATS_URL?.trim() || DEFAULT_TEST_NATS_URL;
}

/** Options of {@link startNatsServer}. */
export interface NatsServerOptions {
  /** Enable JetStream (store in the temporary directory). Default `true`. */
  readonly jetstream?: boolean;
  /** Extra configuration text appended to the generated config (accounts, authorization, tls, limits). */
  readonly config?: string;
  /** Extra command-line arguments. */
  readonly args?: readonly string[];
  /** Also serve the HTTP monitoring endpoints (`/varz`, `/jsz`) on a random port. Default `false`. */
  readonly monitor?: boolean;
  /** `server_name`; default a random `test-<hex>`. */
  readonly serverName?: string;
  /** The binary; default `NATS_SERVER_BIN`, then `/usr/sbin/nats-server`, then `nats-server` from `PATH`. */
  readonly binary?: string;
  /** How long to wait for the server to accept connections. Default 15 s. */
  readonly startTimeoutMs?: number;
}

/** A running (or stopped) nats-server started by {@link startNatsServer}. */
export interface NatsServer {
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** The temporary directory holding the config and the JetStream store. */
  readonly storeDir: string;
  /** `http://127.0.0.1:<port>` when started with `monitor: true`. */
  readonly monitorUrl: string | undefined;
  readonly serverName: string;
  /** True while the process runs. */
  readonly running: boolean;
  /** The server's recent log lines (for failure messages). */
  logs(): string;
  /** Stops the server (SIGTERM, SIGKILL after 5 s) and removes its directory. Idempotent. */
  stop(): Promise<void>;
  /**
   * Sends `signal` (default SIGKILL: a crash) and waits for the process to exit; the store stays.
   * SIGHUP (reload the config), SIGUSR1 and SIGUSR2 are only sent.
   */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same port with the same store (stopping it first if it runs). */
  restart(): Promise<void>;
}

const children = new Set<ChildProcess>();
const NON_EXITING_SIGNALS = new Set<NodeJS.Signals>(["SIGHUP", "SIGUSR1", "SIGUSR2"]);
let exitHookInstalled = false;

/** A test run that dies must not leave servers behind. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const child of children) child.kill("SIGKILL");
  });
}

/** The nats-server binary to run. @throws when none is installed. */
export function findNatsServerBinary(preferred?: string): string {
  const candidates = [preferred, process.env.NATS_SERVER_BIN, "/usr/sbin/nats-server"];
  for (const dir of (process.env.PATH ?? "").split(delimiter))
    if (dir) candidates.push(join(dir, "nats-server"));
  for (const candidate of candidates) {
    if (!candidate) continue;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  throw new Error(
    "nats-server not found (looked at NATS_SERVER_BIN, /usr/sbin/nats-server and PATH); " +
      "install it: https://docs.nats.io/running-a-nats-service/introduction/installation",
  );
}

/**
 * `count` distinct free TCP ports on 127.0.0.1, chosen by the OS. All are held
 * open together while chosen, so they differ; a port may still be taken by
 * someone else before the server binds it, which {@link startNatsServer}
 * survives by retrying on other ports.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once("error", reject);
          server.listen(0, "127.0.0.1", () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const address = s.address();
    if (address === null || typeof address === "string") throw new Error("no port assigned");
    return address.port;
  });
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

/** Resolves once something on `port` speaks NATS (sends `INFO`), or rejects at `deadline`. */
async function waitForNats(port: number, deadline: number, exited: () => string | undefined): Promise<void> {
  while (true) {
    const reason = exited();
    if (reason !== undefined) throw new Error(reason);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = tcpConnect({ host: "127.0.0.1", port });
      const done = (result: boolean) => {
        socket.destroy();
        resolve(result);
      };
      socket.setTimeout(1_000, () => done(false));
      socket.once("error", () => done(false));
      socket.once("data", (chunk) => done(chunk.toString("latin1").startsWith("INFO ")));
    });
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(`nats-server did not accept connections on port ${port} in time`);
    await sleep(50);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** GET a monitoring endpoint as JSON. */
export function getMonitorJson<T = unknown>(monitorUrl: string, path: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${monitorUrl}${path}`, { timeout: 2_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => {
        try {
          resolve(JSON.parse(body) as T);
        } catch (err) {
          reject(err);
        }
      });
    });
    req.once("timeout", () => req.destroy(new Error(`timeout on ${path}`)));
    req.once("error", reject);
    req.end();
  });
}

interface ProcessConfig {
  readonly binary: string;
  readonly dir: string;
  readonly serverName: string;
  readonly jetstream: boolean;
  readonly args: readonly string[];
  readonly startTimeoutMs: number;
  /** The config file's text for the given ports. */
  readonly render: (ports: Ports) => string;
}

interface Ports {
  readonly client: number;
  readonly monitor: number | undefined;
  readonly cluster: number | undefined;
}

/** One nats-server process that can be stopped and started again on the same ports and store. */
class ServerProcess {
  private child: ChildProcess | undefined;
  private exit: Promise<void> = Promise.resolve();
  private exitReason: string | undefined;
  private readonly logLines: string[] = [];
  private removed = false;

  constructor(
    readonly config: ProcessConfig,
    readonly ports: Ports,
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  logs(): string {
    return this.logLines.join("\n");
  }

  async start(): Promise<void> {
    if (this.removed) throw new Error("this nats-server was stopped for good; start a new one");
    if (this.running) return;
    const configFile = join(this.config.dir, "server.conf");
    writeFileSync(configFile, this.config.render(this.ports));
    installExitHook();
    const child = spawn(this.config.binary, ["-c", configFile, ...this.config.args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    this.exitReason = undefined;
    children.add(child);
    const collect = (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line.trim() === "") continue;
        this.logLines.push(line);
        if (this.logLines.length > 300) this.logLines.shift();
      }
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    this.exit = new Promise<void>((resolve) => {
      child.once("exit", (code, signal) => {
        children.delete(child);
        this.exitReason = `nats-server exited (${signal ?? `code ${code}`}) while starting:\n${this.tail()}`;
        resolve();
      });
      child.once("error", (err) => {
        children.delete(child);
        this.exitReason = `nats-server failed to start: ${err.message}`;
        resolve();
      });
    });
    try {
      await waitForNats(this.ports.client, Date.now() + this.config.startTimeoutMs, () => this.exitReason);
    } catch (err) {
      await this.halt("SIGKILL");
      throw err;
    }
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child?.kill(signal);
  }

  /** Ends the process, keeping the store. */
  async halt(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return this.exit;
    child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await this.exit;
    clearTimeout(timer);
  }

  async remove(): Promise<void> {
    await this.halt();
    if (!this.removed) {
      this.removed = true;
      rmSync(this.config.dir, { recursive: true, force: true });
    }
  }

  tail(lines = 15): string {
    return this.logLines.slice(-lines).join("\n");
  }

  get lostPortRace(): boolean {
    return /address already in use/i.test(this.exitReason ?? "");
  }
}

function renderSingle(options: NatsServerOptions, serverName: string, storeDir: string) {
  return (ports: Ports) =>
    [
      `listen: "127.0.0.1:${ports.client}"`,
      `server_name: "${serverName}"`,
      ports.monitor !== undefined ? `http: "127.0.0.1:${ports.monitor}"` : "",
      options.jetstream === false ? "" : `jetstream {\n  store_dir: "${join(storeDir, "jetstream")}"\n}`,
      options.config ?? "",
      "",
    ].join("\n");
}

/**
 * Starts a nats-server on a random port (JetStream on by default) and waits
 * until it accepts connections.
 *
 * @example
 * ```ts
 * const server = await startNatsServer();
 * afterAll(() => server.stop());
 * const nc = await connect({ servers: server.url });
 * ```
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const binary = findNatsServerBinary(options.binary);
  const dir = mkdtempSync(join(tmpdir(), "nats-test-"));
  const serverName = options.serverName ?? `test-${randomBytes(4).toString("hex")}`;
  const config: ProcessConfig = {
    binary,
    dir,
    serverName,
    jetstream: options.jetstream !== false,
    args: options.args ?? [],
    startTimeoutMs: options.startTimeoutMs ?? 15_000,
    render: renderSingle(options, serverName, dir),
  };
  let proc: ServerProcess | undefined;
  try {
    for (let attempt = 1; ; attempt++) {
      const [client, monitor] = await freePorts(2);
      proc = new ServerProcess(config, {
        client: client!,
        monitor: options.monitor ? monitor : undefined,
        cluster: undefined,
      });
      try {
        await proc.start();
        break;
      } catch (err) {
        // Someone took the port between our choosing and the server's binding: choose again.
        if (!proc.lostPortRace || attempt >= 5) throw err;
      }
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return handleFor(proc, config, () => proc!.remove());
}

function handleFor(proc: ServerProcess, config: ProcessConfig, stop: () => Promise<void>): NatsServer {
  return {
    get url() {
      return `nats://127.0.0.1:${proc.ports.client}`;
    },
    get port() {
      return proc.ports.client;
    },
    storeDir: config.dir,
    get monitorUrl() {
      return proc.ports.monitor === undefined ? undefined : `http://127.0.0.1:${proc.ports.monitor}`;
    },
    serverName: config.serverName,
    get running() {
      return proc.running;
    },
    logs: () => proc.logs(),
    stop,
    kill: async (signal: NodeJS.Signals = "SIGKILL") => {
      // These ask the server to do something (reload, reopen logs, lame duck), not to exit.
      if (NON_EXITING_SIGNALS.has(signal)) proc.signal(signal);
      else await proc.halt(signal);
    },
    restart: async () => {
      await proc.halt();
      await proc.start();
    },
  };
}

/** Options of {@link startNatsCluster}. */
export interface NatsClusterOptions {
  /** Enable JetStream on every node (and wait for a meta leader). Default `true`. */
  readonly jetstream?: boolean;
  /** Extra configuration text appended to every node's config. */
  readonly config?: string;
  /** Extra command-line arguments for every node. */
  readonly args?: readonly string[];
  readonly binary?: string;
  /** How long to wait for the cluster (routes and JetStream meta leader). Default 30 s. */
  readonly startTimeoutMs?: number;
}

/** A cluster of nats-servers started by {@link startNatsCluster}. */
export interface NatsCluster {
  /** Every node's client URL, comma-separated (a `NATS_URL` value). */
  readonly urls: string;
  /** The nodes; a node's `stop()` keeps its store (like {@link stopNode}); {@link stop} removes them all. */
  readonly nodes: readonly NatsServer[];
  /** The cluster's name. */
  readonly name: string;
  /** Stops node `i` (SIGTERM) keeping its store, so {@link startNode} brings the same peer back. */
  stopNode(i: number): Promise<void>;
  /** Kills node `i` (default SIGKILL: a crash), keeping its store. */
  killNode(i: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts node `i` again on its ports with its store. */
  startNode(i: number): Promise<void>;
  /** Resolves once every running node sees a JetStream meta leader and all running peers as current. */
  waitForJetStream(timeoutMs?: number): Promise<void>;
  /** Stops every node and removes their directories. */
  stop(): Promise<void>;
}

interface JszMeta {
  meta_cluster?: {
    leader?: string;
    cluster_size?: number;
    replicas?: { name: string; current: boolean; offline?: boolean }[];
  };
}

/**
 * Starts `size` nats-servers (default 3) routed into one cluster, each with
 * JetStream (unique `server_name`, own store) and monitoring on random ports,
 * and waits until routes are up and JetStream has a meta leader.
 *
 * @example
 * ```ts
 * const cluster = await startNatsCluster(3);
 * const nc = await connect({ servers: cluster.urls.split(",") });
 * await cluster.stopNode(0); // a node is lost; R3 streams keep working
 * ```
 */
export async function startNatsCluster(size = 3, options: NatsClusterOptions = {}): Promise<NatsCluster> {
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`cluster size must be a positive integer, got ${size}`);
  const binary = findNatsServerBinary(options.binary);
  const name = `test-cluster-${randomBytes(4).toString("hex")}`;
  const jetstream = options.jetstream !== false;
  const timeoutMs = options.startTimeoutMs ?? 30_000;

  for (let attempt = 1; ; attempt++) {
    const ports = await freePorts(size * 3);
    const nodePorts: Ports[] = Array.from({ length: size }, (_, i) => ({
      client: ports[i * 3]!,
      cluster: ports[i * 3 + 1]!,
      monitor: ports[i * 3 + 2]!,
    }));
    const routes = nodePorts.map((p) => `"nats-route://127.0.0.1:${p.cluster}"`).join(", ");
    const procs = nodePorts.map((p, i) => {
      const dir = mkdtempSync(join(tmpdir(), `nats-cluster-${i}-`));
      const serverName = `${name}-n${i}`;
      const config: ProcessConfig = {
        binary,
        dir,
        serverName,
        jetstream,
        args: options.args ?? [],
        startTimeoutMs: timeoutMs,
        render: (q) =>
          [
            `listen: "127.0.0.1:${q.client}"`,
            `server_name: "${serverName}"`,
            `http: "127.0.0.1:${q.monitor}"`,
            `cluster {\n  name: "${name}"\n  listen: "127.0.0.1:${q.cluster}"\n  routes: [${routes}]\n}`,
            jetstream ? `jetstream {\n  store_dir: "${join(dir, "jetstream")}"\n}` : "",
            options.config ?? "",
            "",
          ].join("\n"),
      };
      return { proc: new ServerProcess(config, p), config };
    });
    const removeAll = () => Promise.all(procs.map(({ proc }) => proc.remove())).then(() => undefined);
    try {
      await Promise.all(procs.map(({ proc }) => proc.start()));
    } catch (err) {
      const portRace = procs.some(({ proc }) => proc.lostPortRace);
      await removeAll();
      if (portRace && attempt < 5) continue;
      throw err;
    }
    const nodes = procs.map(({ proc, config }) => handleFor(proc, config, () => proc.halt()));
    const node = (i: number) => {
      const p = procs[i];
      if (!p) throw new RangeError(`no node ${i} in a cluster of ${size}`);
      return p.proc;
    };
    const cluster: NatsCluster = {
      urls: nodes.map((n) => n.url).join(","),
      nodes,
      name,
      stopNode: (i) => node(i).halt("SIGTERM"),
      killNode: (i, signal = "SIGKILL") => node(i).halt(signal),
      startNode: (i) => node(i).start(),
      waitForJetStream: (ms = timeoutMs) =>
        waitForJetStream(
          procs.map((p) => p.proc),
          ms,
        ),
      stop: removeAll,
    };
    try {
      await waitForRoutes(
        procs.map((p) => p.proc),
        timeoutMs,
      );
      if (jetstream) await cluster.waitForJetStream();
    } catch (err) {
      await removeAll();
      throw err;
    }
    return cluster;
  }
}

async function waitForRoutes(procs: readonly ServerProcess[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const expected = procs.length - 1;
  while (true) {
    const counts = await Promise.all(
      procs.map((p) =>
        getMonitorJson<{ num_routes?: number }>(`http://127.0.0.1:${p.ports.monitor}`, "/routez")
          .then((r) => r.num_routes ?? 0)
          .catch(() => -1),
      ),
    );
    if (counts.every((c) => c >= expected)) return;
    if (Date.now() > deadline) {
      throw new Error(
        `cluster routes did not form in ${timeoutMs} ms (routes per node: ${counts.join(", ")})`,
      );
    }
    await sleep(100);
  }
}

async function waitForJetStream(procs: readonly ServerProcess[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const running = procs.filter((p) => p.running);
  let last = "";
  while (true) {
    const views = await Promise.all(
      running.map((p) =>
        getMonitorJson<JszMeta>(`http://127.0.0.1:${p.ports.monitor}`, "/jsz").catch(() => ({}) as JszMeta),
      ),
    );
    const leaders = new Set(views.map((v) => v.meta_cluster?.leader ?? ""));
    const leaderName = [...leaders][0] ?? "";
    const leaderView = views.find((_, i) => running[i]?.config.serverName === leaderName);
    // The leader lists the other peers; every running one must be current.
    const currentPeers = (leaderView?.meta_cluster?.replicas ?? []).filter(
      (r) => r.current && !r.offline,
    ).length;
    const ready = leaders.size === 1 && leaderName !== "" && currentPeers >= running.length - 1;
    if (ready) return;
    last = `leaders seen: ${[...leaders].map((l) => l || "(none)").join(", ")}; current peers: ${currentPeers}`;
    if (Date.now() > deadline) throw new Error(`JetStream cluster not ready in ${timeoutMs} ms (${last})`);
    await sleep(100);
  }
}
