import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** How a batch ended, as `agg_batches_total{state}` counts it (`accepted` counts its start). */
export type FinishedBatchState = "completed" | "failed" | "cancelled";

/** How one user's job ended (`agg_users_total{outcome}`). */
export type UserJobOutcome = "done" | "failed" | "skipped";

/** Live sizes read at scrape time; each is called once per scrape, never on the hot path. */
export interface EngineGaugeSources {
  /** Leases (users and batches) this instance holds. */
  readonly leasesHeld?: () => number;
  /** User actors alive on this instance. */
  readonly userActors?: () => number;
  /** Batches whose coordinator runs on this instance. */
  readonly batchesCoordinated?: () => number;
  /** 1 while this instance's actors are inspected (someone watches, or `AGG_INSPECT=always`), else 0. */
  readonly inspectionWatched?: () => number;
}

/** Seconds from a job's arrival to its outcome: a day is milliseconds, a user's history can be minutes. */
const USER_SECONDS_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900];
/** Seconds from a batch's acceptance to its final state (the default deadline is 6 h). */
const BATCH_SECONDS_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1_800, 3_600, 10_800, 21_600];

const USER_OUTCOMES: readonly UserJobOutcome[] = ["done", "failed", "skipped"];
const FINISHED_STATES: readonly FinishedBatchState[] = ["completed", "failed", "cancelled"];
const BATCH_STATES = ["accepted", ...FINISHED_STATES] as const;

/**
 * The Prometheus metrics of one engine instance, on a registry of its own (never
 * prom-client's global one, so two engines in one process, or a test, never mix).
 * The engine calls the plain methods below where things happen; each is O(1)
 * (a counter bump or one histogram observation on a pre-bound child).
 *
 * @example
 * ```ts
 * const metrics = new EngineMetrics({ leasesHeld: () => leases.count });
 * metrics.batchAccepted();
 * metrics.userFinished("done", 0.42);
 * const text = await metrics.registry.metrics(); // Prometheus text format
 * ```
 */
export class EngineMetrics {
  /** Serve `registry.metrics()` with `registry.contentType`. */
  readonly registry = new Registry();

  private readonly batches: Record<(typeof BATCH_STATES)[number], Counter.Internal>;
  private readonly users: Record<UserJobOutcome, Counter.Internal>;
  private readonly userSeconds: Record<UserJobOutcome, Histogram.Internal<"outcome">>;
  private readonly batchSeconds: Record<FinishedBatchState, Histogram.Internal<"state">>;
  private readonly days: Counter;
  private readonly heartbeats: Counter;
  private readonly redeliveries: Counter;
  private readonly deadLetters: Counter<"kind">;
  private readonly reconnects: Counter;
  private readonly up: Gauge;

  constructor(gauges: EngineGaugeSources = {}) {
    const registers = [this.registry];
    const batches = new Counter({
      name: "agg_batches_total",
      help: "Batches accepted by this instance (state=accepted) and batches whose end this instance recorded, by final state.",
      labelNames: ["state"] as const,
      registers,
    });
    const users = new Counter({
      name: "agg_users_total",
      help: "Users of batches this instance settled, by outcome (done, failed, skipped).",
      labelNames: ["outcome"] as const,
      registers,
    });
    const userSeconds = new Histogram({
      name: "agg_user_aggregation_seconds",
      help: "Seconds from a user's job reaching this instance to its outcome, by outcome.",
      labelNames: ["outcome"] as const,
      buckets: USER_SECONDS_BUCKETS,
      registers,
    });
    const batchSeconds = new Histogram({
      name: "agg_batch_duration_seconds",
      help: "Seconds from a batch's acceptance to its final state, by final state.",
      labelNames: ["state"] as const,
      buckets: BATCH_SECONDS_BUCKETS,
      registers,
    });
    // Children bound once: the hot path does no label hashing, and every series
    // exists (at 0) from the first scrape, so rate() and alerts see it at once.
    this.batches = bind(
      BATCH_STATES,
      (state) => batches.labels({ state }),
      (c) => c.inc(0),
    );
    this.users = bind(
      USER_OUTCOMES,
      (outcome) => users.labels({ outcome }),
      (c) => c.inc(0),
    );
    this.userSeconds = bind(USER_OUTCOMES, (outcome) => userSeconds.labels({ outcome }));
    this.batchSeconds = bind(FINISHED_STATES, (state) => batchSeconds.labels({ state }));
    for (const outcome of USER_OUTCOMES) userSeconds.zero({ outcome });
    for (const state of FINISHED_STATES) batchSeconds.zero({ state });
    this.days = new Counter({
      name: "agg_days_written_total",
      help: "User days (summaries) written by this instance.",
      registers,
    });
    this.heartbeats = new Counter({
      name: "agg_heartbeats_read_total",
      help: "Heartbeats read by this instance's aggregations.",
      registers,
    });
    this.redeliveries = new Counter({
      name: "agg_redeliveries_total",
      help: "User jobs this instance received again (JetStream delivery count above 1).",
      registers,
    });
    this.deadLetters = new Counter({
      name: "agg_dead_letters_total",
      help: "Poison messages this instance terminated and dead-lettered, by kind.",
      labelNames: ["kind"] as const,
      registers,
    });
    this.reconnects = new Counter({
      name: "agg_nats_reconnects_total",
      help: "Times this instance's NATS connection was re-established after a loss.",
      registers,
    });
    this.up = new Gauge({
      name: "agg_up",
      help: "1 when the last health check passed (NATS, database, job consumer), else 0.",
      registers,
    });
    this.up.set(0);
    gauge(
      registers,
      "agg_leases_held",
      "Leases (users and batches) held by this instance.",
      gauges.leasesHeld,
    );
    gauge(registers, "agg_user_actors", "User actors alive on this instance.", gauges.userActors);
    gauge(
      registers,
      "agg_batches_coordinated",
      "Batches coordinated by this instance.",
      gauges.batchesCoordinated,
    );
    gauge(
      registers,
      "agg_inspection_watched",
      "1 while this instance's actors are inspected (an agg.inspect within AGG_INSPECT_WATCH_MS, or AGG_INSPECT=always), else 0.",
      gauges.inspectionWatched,
    );
  }

  /** A batch was accepted (durable, jobs published) by this instance. */
  batchAccepted(): void {
    this.batches.accepted.inc();
  }

  /**
   * This instance recorded a batch's end. `seconds` (since acceptance) is
   * observed when known; a final found by the sweeper has none.
   */
  batchFinished(state: FinishedBatchState, seconds?: number): void {
    this.batches[state].inc();
    if (seconds !== undefined) this.batchSeconds[state].observe(Math.max(0, seconds));
  }

  /** A user's job ended here; `seconds` from its arrival, when known. */
  userFinished(outcome: UserJobOutcome, seconds?: number): void {
    this.users[outcome].inc();
    if (seconds !== undefined) this.userSeconds[outcome].observe(Math.max(0, seconds));
  }

  /** Users whose outcome planning decided at acceptance, without a job (up to date, no heartbeats). */
  usersDecided(counts: Readonly<Record<UserJobOutcome, number>>): void {
    for (const outcome of ["done", "failed", "skipped"] as const) {
      if (counts[outcome] > 0) this.users[outcome].inc(counts[outcome]);
    }
  }

  /** Users named in a request but unknown: skipped at acceptance, without a job. */
  usersSkipped(count: number): void {
    if (count > 0) this.users.skipped.inc(count);
  }

  daysWritten(count: number): void {
    if (count > 0) this.days.inc(count);
  }

  heartbeatsRead(count: number): void {
    if (count > 0) this.heartbeats.inc(count);
  }

  /** A job arrived with a delivery count above 1. */
  redelivered(): void {
    this.redeliveries.inc();
  }

  /** A poison message was terminated and kept (`kind`: `jobs`, `reports`, ...). */
  deadLettered(kind: string): void {
    this.deadLetters.inc({ kind });
  }

  /** The NATS connection came back after a loss. */
  natsReconnected(): void {
    this.reconnects.inc();
  }

  /** Records the verdict of the latest health check (`agg_up`). */
  setUp(ok: boolean): void {
    this.up.set(ok ? 1 : 0);
  }
}

/** Pre-bound label children, optionally initialised (counters at 0). */
function bind<K extends string, C>(
  keys: readonly K[],
  child: (key: K) => C,
  init?: (c: C) => void,
): Record<K, C> {
  const out = {} as Record<K, C>;
  for (const key of keys) {
    out[key] = child(key);
    init?.(out[key]);
  }
  return out;
}

/** A gauge whose value is read from `source` at every scrape (absent source: always 0). */
function gauge(registers: Registry[], name: string, help: string, source?: () => number): void {
  new Gauge({
    name,
    help,
    registers,
    collect() {
      this.set(source ? source() : 0);
    },
  });
}
