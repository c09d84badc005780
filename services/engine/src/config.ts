import { hostname } from "node:os";
import { z } from "zod";
import type { InspectMode } from "./inspection-demand";

/** Everything an engine instance can be told, read once from the environment at start. */
export interface EngineConfig {
  /** `postgres://` URL; unset means the embedded PGlite store under `dataDir`. */
  readonly databaseUrl: string | undefined;
  /** Comma-separated NATS servers; unset means 127.0.0.1:4222, or a local nats-server we start. */
  readonly natsUrl: string | undefined;
  readonly prefix: string;
  readonly instance: string;
  readonly logLevel: string;
  readonly metricsPort: number | undefined;
  /** Interface `/healthz` and `/metrics` bind to (`METRICS_HOST`, default 127.0.0.1). */
  readonly metricsHost: string;
  readonly dataDir: string;
  /** Users aggregated at once by this instance. */
  readonly concurrency: number;
  /** PostgreSQL connections of this instance (the actors' calls share them, grouped). */
  readonly dbPoolSize: number;
  /** JetStream ack wait for a job; an instance that dies hands its jobs back after this. */
  readonly ackWaitMs: number;
  /** Deliveries of one job before it is terminated as poison. */
  readonly maxDeliver: number;
  /** A user actor with an empty mailbox stops after this long. */
  readonly passivateAfterMs: number;
  /** One job (one user in one batch) that runs longer than this fails. */
  readonly jobTimeoutMs: number;
  /** Users that have not reported by then count as failed, and the batch ends. */
  readonly batchDeadlineMs: number;
  /** SIGTERM: in-flight work gets this long to finish before it is handed back. */
  readonly drainTimeoutMs: number;
  readonly maxUsersPerRequest: number;
  /** Running batches the cluster accepts before new requests get BUSY. */
  readonly maxBatchesInFlight: number;
  /** A lease (user or batch) not renewed for this long passes to another instance. */
  readonly leaseTtlMs: number;
  /** A job whose user is busy elsewhere is offered again after this long. */
  readonly busyRetryMs: number;
  /** JetStream replicas of the engine's streams and buckets (3 on a 3-node NATS cluster). */
  readonly replicas: number;
  /** Whether this instance takes part in the cluster's nightly schedule. */
  readonly schedule: boolean;
  /** A user's nightly `missing` run starts this long after their local midnight. */
  readonly scheduleOffsetMs: number;
  readonly scheduleTickMs: number;
  /**
   * When XState inspection events are produced for the inspector (see
   * `InspectMode`); `on` becomes `always` with `statelyInspectUrl`, since
   * Stately's inspector learns of each actor from its creation.
   */
  readonly inspect: InspectMode;
  /** `AGG_STATELY_INSPECT`: a WebSocket URL of Stately's inspector to forward every event to. */
  readonly statelyInspectUrl: string | undefined;
  /** Mode `on`: how long one `agg.inspect` keeps this instance's actors inspected. */
  readonly inspectWatchMs: number;
  /** Made-up jobs run through the user machine in memory at start, so V8 has optimised it (0: none). */
  readonly warmUpJobs: number;
  /**
   * After work, idle this long before the warm-up runs again (see `IdleRewarm`);
   * 0: never. Nothing runs again when `warmUpJobs` is 0.
   */
  readonly rewarmIdleMs: number;
}

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const EnvSchema = z.object({
  DATABASE_URL: z.string().min(1).optional(),
  NATS_URL: z.string().min(1).optional(),
  AGG_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, "AGG_PREFIX must be one NATS token (letters, digits, _ and -)")
    .default("agg"),
  AGG_INSTANCE: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, "AGG_INSTANCE may hold letters, digits, '.', '_' and '-'")
    .optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  METRICS_HOST: z.string().default("127.0.0.1"),
  AGG_DATA_DIR: z.string().default("./data"),
  AGG_CONCURRENCY: positiveInt(512),
  AGG_DB_POOL_SIZE: positiveInt(10),
  AGG_ACK_WAIT_MS: positiveInt(6_000),
  AGG_MAX_DELIVER: positiveInt(10),
  AGG_PASSIVATE_AFTER_MS: positiveInt(250),
  AGG_JOB_TIMEOUT_MS: positiveInt(15 * 60_000),
  AGG_BATCH_DEADLINE_MS: positiveInt(6 * 60 * 60_000),
  AGG_DRAIN_TIMEOUT_MS: positiveInt(20_000),
  AGG_MAX_USERS_PER_REQUEST: positiveInt(10_000),
  AGG_MAX_BATCHES_IN_FLIGHT: positiveInt(100),
  AGG_LEASE_TTL_MS: positiveInt(5_000),
  AGG_BUSY_RETRY_MS: positiveInt(1_000),
  AGG_SCHEDULE: z.enum(["on", "off"], { error: "AGG_SCHEDULE must be on or off" }).default("on"),
  AGG_SCHEDULE_OFFSET_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(10 * 60_000),
  AGG_SCHEDULE_TICK_MS: positiveInt(30_000),
  AGG_INSPECT: z
    .enum(["on", "always", "off"], { error: "AGG_INSPECT must be on, always or off" })
    .default("on"),
  AGG_INSPECT_WATCH_MS: positiveInt(60_000),
  AGG_STATELY_INSPECT: z.string().optional(),
  AGG_JS_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  AGG_WARM_UP_JOBS: z.coerce.number().int().min(0).max(100_000).default(1_000),
  AGG_REWARM_IDLE_MS: z.coerce.number().int().min(0).max(3_600_000).default(500),
});

/** A configuration problem, reported as one line and exit code 2. */
export class ConfigError extends Error {
  readonly code = "BAD_CONFIG";
}

/**
 * Reads the engine's configuration from `env`.
 * @throws ConfigError naming the variable and the problem.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): EngineConfig {
  // An empty variable means "unset" (e.g. `DATABASE_URL= pnpm start`).
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`${issue.path.join(".")}: ${issue.message}`);
  }
  const e = parsed.data;
  return {
    databaseUrl: e.DATABASE_URL,
    natsUrl: e.NATS_URL,
    prefix: e.AGG_PREFIX,
    instance: e.AGG_INSTANCE ?? `${hostname().replace(/[^A-Za-z0-9_-]/g, "-")}-${process.pid}`,
    logLevel: e.LOG_LEVEL,
    metricsPort: e.METRICS_PORT,
    metricsHost: e.METRICS_HOST,
    dataDir: e.AGG_DATA_DIR,
    concurrency: e.AGG_CONCURRENCY,
    dbPoolSize: e.AGG_DB_POOL_SIZE,
    ackWaitMs: e.AGG_ACK_WAIT_MS,
    maxDeliver: e.AGG_MAX_DELIVER,
    passivateAfterMs: e.AGG_PASSIVATE_AFTER_MS,
    jobTimeoutMs: e.AGG_JOB_TIMEOUT_MS,
    batchDeadlineMs: e.AGG_BATCH_DEADLINE_MS,
    drainTimeoutMs: e.AGG_DRAIN_TIMEOUT_MS,
    maxUsersPerRequest: e.AGG_MAX_USERS_PER_REQUEST,
    maxBatchesInFlight: e.AGG_MAX_BATCHES_IN_FLIGHT,
    leaseTtlMs: e.AGG_LEASE_TTL_MS,
    busyRetryMs: e.AGG_BUSY_RETRY_MS,
    replicas: e.AGG_JS_REPLICAS,
    schedule: e.AGG_SCHEDULE === "on",
    scheduleOffsetMs: e.AGG_SCHEDULE_OFFSET_MS,
    scheduleTickMs: e.AGG_SCHEDULE_TICK_MS,
    inspect: e.AGG_INSPECT === "on" && e.AGG_STATELY_INSPECT ? "always" : e.AGG_INSPECT,
    statelyInspectUrl: e.AGG_STATELY_INSPECT,
    inspectWatchMs: e.AGG_INSPECT_WATCH_MS,
    warmUpJobs: e.AGG_WARM_UP_JOBS,
    rewarmIdleMs: e.AGG_REWARM_IDLE_MS,
  };
}
