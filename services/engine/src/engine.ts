import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import type { ReportedUser, ReportOutcomeInput, UserJob, UserOutcome } from "@agg/machines";
import {
  type AggRequest,
  type BatchEvent,
  BusyError,
  connectNats,
  createAggRequestSchema,
  createSubjects,
  decodeRequest,
  engineInboxPrefix,
  errorReply,
  InspectRequestSchema,
  matchesInspectFilter,
  NotFoundError,
  StatusRequestSchema,
  type Subjects,
  UnavailableError,
} from "@agg/protocol";
import {
  type AggDatabase,
  findKnownUsers,
  listUserIds,
  migrateToLatest,
  openDatabase,
  warmConnections,
} from "@agg/store";
import { type JsMsg, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { Msg, NatsConnection, Subscription } from "@nats-io/nats-core";
import type { Logger } from "pino";
import { BatchLedger } from "./batch-ledger";
import { triageBatchUsers } from "./batch-triage";
import type { EngineConfig } from "./config";
import { Coordinators } from "./coordinators";
import { DeadLetters } from "./dead-letters";
import { createHealthChecks, type HealthServer, startHealthServer } from "./health-server";
import { IdleRewarm } from "./idle-rewarm";
import { describeActors, type InstanceView } from "./inspection";
import { InspectionDemand } from "./inspection-demand";
import { createInspectionPublisher, type InspectionPublisher } from "./inspection-events";
import { type BatchJobSpec, groupJobs, JobQueue, jobGroupSize } from "./job-queue";
import { batchLeaseKey, Leases } from "./leases";
import { ensureLocalNats } from "./local-nats";
import { EngineMetrics, type FinishedBatchState } from "./metrics";
import { NightlyScheduler } from "./nightly-scheduler";
import { Presence } from "./presence";
import { handleSummaryRequest } from "./summary-handler";
import { TriagedPlanInputs } from "./triaged-plan-inputs";
import { UserActors } from "./user-actors";
import { UserLeases } from "./user-leases";
import { UserStore } from "./user-store";

const encoder = new TextEncoder();

/**
 * Store calls of concurrent user actors answered together: up to 64 users per
 * statement, two groups of a kind at once (the pool has room for them next to
 * the actors' own reads).
 */
const USER_STORE_GROUPING = { maxGroup: 64, maxInFlight: 2 } as const;
/** Triage's reads kept for the jobs: bounded (about 20 MB at most), and used only while young. */
const TRIAGED_PLAN_INPUTS = { maxEntries: 20_000, maxAgeMs: 30_000 } as const;

/** Jobs built and published at a time when a batch is accepted. */
const PUBLISH_CHUNK = 2_000;
const json = (value: unknown) => encoder.encode(JSON.stringify(value));

/**
 * One engine instance: the composition root. It owns the connections and wires
 * the contract's subjects to the ledger, the job queue and the actors:
 *
 *   agg.request -> validate -> ledger (durable) -> JetStream jobs -> reply
 *   JetStream job -> user actor (plan, aggregate, persist) -> ledger -> coordinator
 *   coordinator final state -> ledger.finish (guarded) -> agg.batch.<id> final event
 */
export class Engine {
  private readonly subs: Subscription[] = [];
  private consumer: { stop(): Promise<void>; slotFreed(): void } | undefined;
  private adoptTimer: NodeJS.Timeout | undefined;
  private presence: Presence | undefined;
  /** Publishes this instance's inspection events; set right after construction. */
  inspection: InspectionPublisher | undefined;
  /** Inspects this instance's actors while somebody asks `agg.inspect`; set right after construction. */
  inspectionDemand: InspectionDemand | undefined;
  /** Runs the warm-up again after work, once idle (undefined: never). */
  private rewarm: IdleRewarm | undefined;
  private scheduler: NightlyScheduler | undefined;
  private stopped = false;
  private healthServer: HealthServer | undefined;
  /** When each batch coordinated here was accepted, for `agg_batch_duration_seconds`. */
  private readonly coordinatedSince = new Map<string, number>();
  /** Outcomes waiting for the end of this turn of the event loop, by batch (see `queueReport`). */
  private readonly reportOutbox = new Map<string, ReportedUser[]>();
  readonly startedAt = Date.now();
  private readonly requestSchema;

  private constructor(
    readonly config: EngineConfig,
    private readonly log: Logger,
    private readonly nc: NatsConnection,
    private readonly database: AggDatabase,
    private readonly subjects: Subjects,
    private readonly queue: JobQueue,
    private readonly ledger: BatchLedger,
    private readonly users: UserActors,
    private readonly coordinators: Coordinators,
    /** Batch coordinators' and the schedule's leases (NATS KV). */
    private readonly leases: Leases,
    /** User actors' leases (PostgreSQL, with the fencing tokens). */
    private readonly userLeases: UserLeases,
    private readonly deadLetters: DeadLetters,
    private readonly stopLocalNats: (() => void) | null,
    /** This instance's Prometheus metrics (served on METRICS_PORT when set). */
    readonly metrics: EngineMetrics,
    /** What triage read for users with work, for their jobs' planning here. */
    private readonly triaged: TriagedPlanInputs,
  ) {
    this.requestSchema = createAggRequestSchema({ maxUsersPerRequest: config.maxUsersPerRequest });
  }

  /** Connects, migrates, subscribes and starts taking jobs. */
  static async start(config: EngineConfig, log: Logger): Promise<Engine> {
    const stopLocalNats = config.natsUrl ? null : await ensureLocalNats(config.dataDir, log);
    const nc = await connectNats(
      config.natsUrl ? { ...process.env, NATS_URL: config.natsUrl } : process.env,
      {
        name: `agg-engine ${config.instance}`,
        // Replies to the engine's own requests arrive under <prefix>.x.inbox, a
        // namespace clients are never granted (docs/nats-permissions.md).
        inboxPrefix: engineInboxPrefix(config.prefix),
      },
    );
    let database: AggDatabase | undefined;
    // Late binding: the actors report through the engine, which exists only after them.
    let engine: Engine | undefined;
    try {
      database = await openDatabase(
        config.databaseUrl
          ? { url: config.databaseUrl, poolSize: config.dbPoolSize, keepConnections: true }
          : { dataDir: resolve(config.dataDir, "pglite") },
      );
      const migration = await migrateToLatest(database.db);
      if (migration.applied.length > 0) log.info({ applied: migration.applied }, "migrations applied");
      for (const d of migration.duplicateSummaries.slice(0, 20)) {
        log.warn(d, "duplicate summaries found in existing data (left as they are)");
      }
      for (const warning of migration.warnings) log.warn(warning);
      const subjects = createSubjects(config.prefix);
      const queue = await JobQueue.open(nc, {
        prefix: config.prefix,
        ackWaitMs: config.ackWaitMs,
        maxDeliver: config.maxDeliver,
        maxAckPending: Math.max(1_000, config.concurrency * 64),
        replicas: config.replicas,
      });
      await DeadLetters.ensureStream(await jetstreamManager(nc), subjects, config.replicas);
      const leases = await Leases.open(nc, {
        bucket: subjects.names.leasesBucket,
        ttlMs: config.leaseTtlMs,
        replicas: config.replicas,
        instance: config.instance,
        log,
      });
      const ledger = new BatchLedger(database.db);
      const inspection = createInspectionPublisher({
        publish: (subject, bytes) => nc.publish(subject, bytes),
        subject: subjects.inspectEvents(config.instance),
        instance: config.instance,
        statelyInspectUrl: config.statelyInspectUrl,
        onError: (what, err) => log.warn({ err }, what),
      });
      const inspectionDemand = new InspectionDemand({
        mode: config.inspect,
        observe: inspection.inspect,
        watchForMs: config.inspectWatchMs,
        onUnwatched: () => inspection.forgetActors(),
      });
      const userLeases = new UserLeases({
        // Their own lane: a renewal queued behind the user queries filling the
        // pool arrived after its lease had expired (seconds, in a full run).
        db: database.control,
        holder: config.instance,
        ttlMs: config.leaseTtlMs,
        grouping: USER_STORE_GROUPING,
        log,
      });
      const triaged = new TriagedPlanInputs(TRIAGED_PLAN_INPUTS);
      const users = new UserActors({
        inspection: inspectionDemand,
        work: {
          store: new UserStore(database.db, USER_STORE_GROUPING, triaged),
          now: () => Date.now(),
        },
        leases: userLeases,
        instance: config.instance,
        busyRetryMs: config.busyRetryMs,
        passivateAfterMs: config.passivateAfterMs,
        jobTimeoutMs: config.jobTimeoutMs,
        keepAliveMs: Math.max(250, Math.floor(config.ackWaitMs / 3)),
        reportOutcome: (input, seconds, recordedWithWrite) =>
          engine!.recordOutcome(input, seconds, recordedWithWrite),
        onJobSettled: () => {
          engine?.consumer?.slotFreed();
          engine?.rewarm?.jobSettled();
        },
        log,
      });
      const coordinators = new Coordinators({
        inspection: inspectionDemand,
        ledger,
        deadlineMs: config.batchDeadlineMs,
        publish: (batchId, event) => {
          nc.publish(subjects.batchEvents(batchId), json(event));
          if (event.type === "final") engine?.batchEnded(batchId, event.state);
        },
        reconcileEveryMs: 3_000,
        progressEveryMs: 250,
        log,
      });
      const metrics = new EngineMetrics({
        leasesHeld: () => leases.count + userLeases.count,
        userActors: () => users.snapshots().length,
        batchesCoordinated: () => coordinators.snapshots().length,
        inspectionWatched: () => (inspectionDemand.watched ? 1 : 0),
      });
      // Ends by itself when the connection closes.
      void (async () => {
        for await (const s of nc.status()) if (s.type === "reconnect") metrics.natsReconnected();
      })().catch(() => undefined);
      engine = new Engine(
        config,
        log,
        nc,
        database,
        subjects,
        queue,
        ledger,
        users,
        coordinators,
        leases,
        userLeases,
        new DeadLetters(jetstream(nc), subjects, config.instance, log, (kind) => metrics.deadLettered(kind)),
        stopLocalNats,
        metrics,
        triaged,
      );
      engine.inspection = inspection;
      engine.inspectionDemand = inspectionDemand;
      if (config.warmUpJobs > 0) {
        engine.rewarm = new IdleRewarm({
          idleMs: config.rewarmIdleMs,
          busy: () => users.busy,
          run: (keepGoing) => runWarmUp(users, coordinators, config, keepGoing),
          onDone: (ms, finished) =>
            log.info(
              { jobs: config.warmUpJobs, ms: Math.round(ms), finished },
              "user machine warmed up again",
            ),
          onError: (err) => log.warn({ err }, "warming up again failed"),
        });
      }
      if (config.metricsPort !== undefined) {
        // Before listen(): until the consumer runs, /healthz says 503 ("starting").
        const checks = createHealthChecks({ nc, db: database.db, consumerHeld: () => engine!.consumerHeld });
        engine.healthServer = await startHealthServer({
          port: config.metricsPort,
          host: config.metricsHost,
          metrics,
          health: () => checks.run(),
        });
        log.info({ url: engine.healthServer.url }, "serving /healthz and /metrics");
      }
      if (config.warmUpJobs > 0) {
        await warmDatabaseConnections(database, log);
        await warmUp(users, coordinators, config, log);
      }
      await engine.listen();
      log.info(
        {
          nats: nc.getServer(),
          database: database.kind,
          prefix: config.prefix,
          concurrency: config.concurrency,
        },
        "engine started",
      );
      return engine;
    } catch (err) {
      await engine?.healthServer?.close();
      await database?.close().catch(() => undefined);
      await nc.close().catch(() => undefined);
      stopLocalNats?.();
      throw err;
    }
  }

  private async listen(): Promise<void> {
    const queue = `${this.config.prefix}-engine`;
    const s = this.subjects;
    this.serve(s.request, queue, (m) => this.onRequest(m));
    this.serve(s.status, queue, (m) => this.onStatus(m));
    this.serve(s.inspect, queue, (m) => this.onInspect(m));
    // Extension: stored summaries over NATS, so the CLI can read them while this
    // engine holds the embedded (single-process) PGlite store.
    this.serve(`${s.prefix}.summary`, queue, (m) => handleSummaryRequest(this.database.db, m.data));
    this.serve(s.inspectInstance, undefined, async (m) => {
      decodeRequest(InspectRequestSchema, m.data);
      this.inspectionDemand?.watch();
      return this.instanceView();
    });
    this.subs.push(
      this.nc.subscribe(s.reportWildcard, {
        callback: (err, m) => {
          if (err) return;
          this.onReport(m);
        },
      }),
    );
    this.presence = new Presence(this.nc, `${this.subjects.prefix}.x.presence`, {
      id: this.config.instance,
      startedAt: new Date(this.startedAt).toISOString(),
    });
    await this.nc.flush();
    if (this.config.schedule) {
      this.scheduler = new NightlyScheduler({
        db: this.database.db,
        leases: this.leases,
        acceptBatch: (request) => this.acceptBatch(request),
        offsetMs: this.config.scheduleOffsetMs,
        tickMs: this.config.scheduleTickMs,
        now: () => Date.now(),
        log: this.log.child({ component: "schedule" }),
      });
      this.scheduler.start();
    }
    await this.adoptRunningBatches();
    this.adoptTimer = setInterval(() => void this.adoptRunningBatches(), 2_000);
    this.adoptTimer.unref();
    this.consumer = this.queue.consume(
      () => this.config.concurrency - this.users.heldCount,
      ({ jobs, msg, deliveryCount }) => void this.onJobs(jobs, msg, deliveryCount),
      (msg, reason) => {
        void this.deadLetters.record("jobs", msg.subject, msg.data, reason, msg.info.deliveryCount);
        // No reason on the wire: nats-server 2.9 does not understand "+TERM <reason>" (2.10.4+).
        msg.term();
      },
      this.log,
    );
  }

  /** Request-reply with a reply on every path: an error object, never silence, never a crash. */
  private serve(subject: string, queue: string | undefined, handler: (m: Msg) => Promise<unknown>): void {
    const sub = this.nc.subscribe(subject, {
      ...(queue ? { queue } : {}),
      callback: (err, m) => {
        if (err) {
          this.log.error({ err, subject }, "subscription error");
          return;
        }
        handler(m).then(
          (reply) => m.reply && m.respond(json(reply)),
          (error) => {
            const reply = errorReply(error);
            if (reply.error.code === "INTERNAL") this.log.error({ err: error, subject }, "request failed");
            if (m.reply) m.respond(json(reply));
          },
        );
      },
    });
    this.subs.push(sub);
  }

  private async onRequest(m: Msg): Promise<unknown> {
    const request: AggRequest = decodeRequest(this.requestSchema, m.data);
    if (this.stopped) throw new UnavailableError("this instance is stopping; retry");
    return this.acceptBatch(request);
  }

  /**
   * Accepts a validated request: the batch and its users go to the ledger, the
   * coordinator starts, every job is stored in JetStream; only then does it
   * return, so a crash after the reply loses nothing.
   */
  async acceptBatch(request: AggRequest): Promise<{ batchId: string; users: number }> {
    // Acceptance is work before any job is held: the idle warm-up must give way to it.
    const release = this.rewarm?.hold();
    try {
      return await this.acceptNow(request);
    } finally {
      release?.();
    }
  }

  private async acceptNow(request: AggRequest): Promise<{ batchId: string; users: number }> {
    // Overload protection: refuse at once rather than queue without bound.
    const running = await this.ledger.runningCount();
    if (running >= this.config.maxBatchesInFlight) {
      throw new BusyError(
        `${running} batches are running (limit AGG_MAX_BATCHES_IN_FLIGHT=${this.config.maxBatchesInFlight}); retry later`,
      );
    }
    const mode = request.mode ?? "missing";
    let known: string[];
    let unknown: string[] = [];
    if (request.users) {
      const found = await findKnownUsers(this.database.db, request.users);
      known = request.users.filter((u) => found.has(u));
      unknown = request.users.filter((u) => !found.has(u));
    } else {
      known = await listUserIds(this.database.db);
    }
    const batchId = newBatchId();
    const log = this.log.child({ batchId });
    // Users with nothing to do (up to date, no heartbeats) are decided here, set-wise,
    // by the actors' own planning rules: most users of a nightly run get no job at all.
    const triage = await triageBatchUsers(
      this.database.db,
      known,
      { ...request, mode },
      Date.now(),
      (userId, inputs) => this.triaged.keep(batchId, userId, inputs, Date.now()),
    );
    await this.ledger.create({
      id: batchId,
      mode,
      fromDay: request.from ?? null,
      toDay: request.to ?? null,
      request,
      acceptedBy: this.config.instance,
      knownUsers: triage.withWork,
      unknownUsers: unknown,
      decided: triage,
    });
    await this.coordinate(
      batchId,
      triage.withWork,
      [
        ...unknown.map((userId) => ({ userId, outcome: "skipped" as const })),
        ...triage.decided.map(({ userId, outcome }) => ({ userId, outcome })),
      ],
      Date.now(),
    );
    known = triage.withWork;
    await this.publishJobs({ batchId, mode, from: request.from, to: request.to }, known);
    await this.ledger.markDispatched(batchId);
    this.metrics.batchAccepted();
    this.metrics.usersSkipped(unknown.length);
    this.metrics.usersDecided(triage.decidedCounts);
    const users = known.length + unknown.length + triage.decided.length;
    log.info(
      { users, withWork: known.length, decided: triage.decided.length, unknown: unknown.length, mode },
      "batch accepted",
    );
    return { batchId, users };
  }

  private async onStatus(m: Msg): Promise<unknown> {
    const { batchId } = decodeRequest(StatusRequestSchema, m.data);
    const status = await this.ledger.status(batchId);
    if (!status) throw new NotFoundError(`no batch ${batchId}`);
    return status;
  }

  /**
   * Scatter-gather: every live instance answers with its own actors. It returns
   * as soon as every instance known alive has answered, or after a short
   * deadline; instances that stayed silent are listed with `answered: false`.
   * The answering instance puts in its own view directly: going through NATS
   * to itself, it could miss its own deadline while busy and list itself as
   * silent.
   */
  private async onInspect(m: Msg): Promise<unknown> {
    const filter = decodeRequest(InspectRequestSchema, m.data);
    // Somebody inspects: this instance's actors are watched from now on (the
    // others are when the gather below reaches them).
    this.inspectionDemand?.watch();
    const expected = this.presence?.alive() ?? [];
    const views: InstanceView[] = [this.instanceView()];
    const allAnswered = () => expected.every((e) => views.some((v) => v.instance.id === e.id));
    // Gather until every instance known alive has answered (or the deadline):
    // a malformed or duplicate answer never stands in for a real one.
    if (!allAnswered()) {
      const replies = await this.nc.requestMany(this.subjects.inspectInstance, json({}), { maxWait: 400 });
      try {
        for await (const r of replies) {
          try {
            const view = r.json<InstanceView>();
            if (typeof view?.instance?.id !== "string" || !Array.isArray(view.actors)) continue;
            if (views.some((v) => v.instance.id === view.instance.id)) continue;
            views.push(view);
          } catch {
            continue;
          }
          if (allAnswered()) break;
        }
      } catch {
        // The deadline passed: keep what arrived.
      }
    }
    const answered = new Set(views.map((v) => v.instance.id));
    const silent = expected.filter((e) => !answered.has(e.id));
    return {
      instances: [
        ...views.map((v) => ({ ...v.instance, answered: true })),
        ...silent.map((e) => ({ id: e.id, startedAt: e.startedAt, answered: false })),
      ],
      actors: views.flatMap((v) => v.actors).filter((a) => matchesInspectFilter({ ...a }, filter)),
    };
  }

  private instanceView(): InstanceView {
    return describeActors(
      this.config.instance,
      this.startedAt,
      this.users.snapshots(),
      this.coordinators.snapshots(),
    );
  }

  private onReport(m: Msg): void {
    try {
      const r = m.json<{ batchId?: unknown; userId?: unknown; outcome?: unknown; outcomes?: unknown }>();
      // `outcomes`: the reports of one publish (see `queueReport`); `userId`/`outcome`: one report.
      const outcomes = Array.isArray(r.outcomes) ? (r.outcomes as unknown[]) : [r];
      if (typeof r.batchId === "string" && outcomes.length > 0 && outcomes.every(isReportedUser)) {
        this.coordinators.reportMany(
          r.batchId,
          outcomes.map((o) => ({ userId: o.userId, outcome: o.outcome })),
        );
        return;
      }
    } catch {
      // fall through
    }
    void this.deadLetters.record("reports", m.subject, m.data, "malformed report");
  }

  private async onJobs(jobs: readonly UserJob[], msg: JsMsg, deliveryCount: number): Promise<void> {
    if (this.stopped) {
      msg.nak();
      return;
    }
    if (deliveryCount > 1) {
      this.metrics.redelivered();
      // A group comes back whole (its instance died, or one of its users was handed
      // back): users whose outcome the ledger already holds are not worked on again.
      try {
        const pending = await this.ledger.stillPending(
          jobs[0]!.batchId,
          jobs.map((j) => j.userId),
        );
        jobs = jobs.filter((j) => pending.has(j.userId));
      } catch (err) {
        this.log.warn({ err }, "could not read which users of a redelivered job message are pending");
      }
      if (jobs.length === 0) {
        msg.ack();
        return;
      }
      if (this.stopped) {
        // Stopping began while the ledger was asked: hand the message back.
        msg.nak();
        return;
      }
    }
    if (deliveryCount >= this.config.maxDeliver) {
      // Every earlier delivery died with its instance (an outcome would have acked it):
      // this message may be what kills them. Give up on it rather than try once more.
      void this.giveUp(jobs, msg, deliveryCount);
      return;
    }
    this.users.dispatch(jobs, msg);
  }

  private async giveUp(jobs: readonly UserJob[], msg: JsMsg, deliveries: number): Promise<void> {
    const reason = `gave up after ${deliveries} deliveries`;
    try {
      await this.deadLetters.record("jobs", msg.subject, msg.data, reason, deliveries);
      await Promise.all(
        jobs.map((job) =>
          this.recordOutcome({ job, outcome: "failed", reason, daysWritten: 0, heartbeatsRead: 0 }),
        ),
      );
      // No reason on the wire: nats-server 2.9 does not understand "+TERM <reason>" (2.10.4+).
      msg.term();
    } catch (err) {
      this.log.error(
        { err, batchId: jobs[0]?.batchId, users: jobs.map((j) => j.userId) },
        "could not give up on a job message; it will return",
      );
      msg.nak(this.config.busyRetryMs);
    }
  }

  /**
   * Publishes a batch's jobs, a group of users per message, in chunks (a batch of
   * 100 k users never holds 100 k job objects at once). The same users in the same
   * order make the same messages, so a republish after a crash is deduplicated.
   */
  private async publishJobs(spec: BatchJobSpec, userIds: readonly string[]): Promise<void> {
    const ordered = [...userIds].sort();
    const size = jobGroupSize(ordered.length);
    const chunk = size * Math.ceil(PUBLISH_CHUNK / size);
    for (let i = 0; i < ordered.length; i += chunk) {
      await this.queue.publish(groupJobs(spec, ordered.slice(i, i + chunk), size));
    }
  }

  /** Called by a user actor when a job ended: record once, then tell the coordinator. */
  private async recordOutcome(
    input: ReportOutcomeInput,
    seconds?: number,
    recordedWithWrite?: boolean,
  ): Promise<void> {
    const { job, reason } = input;
    // The job's last day write recorded it `done` (see `writeUsersDays`): that is
    // what the ledger holds, so it is also what the coordinator is told.
    const outcome = recordedWithWrite === true ? "done" : input.outcome;
    const recorded =
      recordedWithWrite ??
      (await this.ledger.recordOutcome(
        job.batchId,
        job.userId,
        outcome,
        reason ?? null,
        this.config.instance,
      ));
    this.metrics.daysWritten(input.daysWritten);
    this.metrics.heartbeatsRead(input.heartbeatsRead);
    // Counted once per (batch, user), as the ledger counts: a duplicate delivery's outcome is not.
    if (recorded) this.metrics.userFinished(outcome, seconds);
    this.log[outcome === "failed" ? "warn" : "debug"](
      { batchId: job.batchId, userId: job.userId, outcome, reason, days: input.daysWritten, recorded },
      "user finished",
    );
    this.queueReport(job.batchId, { userId: job.userId, outcome });
    this.consumer?.slotFreed();
  }

  /**
   * Tells the batch's coordinator (wherever it runs) about an outcome. The
   * outcomes recorded in one turn of the event loop go out as one message per
   * batch: a nightly run's users finish in groups (group commit), and a message
   * each was a NATS publish and delivery per user. A lost report is harmless:
   * the coordinator reconciles with the ledger.
   */
  private queueReport(batchId: string, reported: ReportedUser): void {
    const outbox = this.reportOutbox.get(batchId);
    if (outbox) {
      outbox.push(reported);
      return;
    }
    this.reportOutbox.set(batchId, [reported]);
    if (this.reportOutbox.size === 1) setImmediate(() => this.flushReports());
  }

  private flushReports(): void {
    for (const [batchId, outcomes] of this.reportOutbox) {
      try {
        this.nc.publish(this.subjects.report(batchId), json({ batchId, outcomes }));
      } catch (err) {
        // The connection is closing (shutdown): the ledger holds the outcomes.
        this.log.debug({ err, batchId }, "could not publish reports");
      }
    }
    this.reportOutbox.clear();
  }

  /** Coordinates running batches nobody here coordinates (after a restart, or an instance's death). */
  private async adoptRunningBatches(): Promise<void> {
    if (this.stopped) return;
    try {
      for (const final of await this.ledger.unpublishedFinals()) {
        this.nc.publish(this.subjects.batchEvents(final.batchId), json({ type: "final", ...final }));
        await this.ledger.markFinalPublished(final.batchId);
        // Its coordinator's instance ended it and died before publishing: count it here.
        this.batchEnded(final.batchId, final.state);
      }
      for (const batch of await this.ledger.running()) {
        if (this.coordinators.has(batch.id) || (await this.leases.holder(batchLeaseKey(batch.id)))) continue;
        const [pending, reported] = await Promise.all([
          this.ledger.pending(batch.id),
          this.ledger.reported(batch.id),
        ]);
        if (!batch.dispatched) {
          // Accepted, but the instance died before every job was published: publish
          // again (JetStream drops duplicates by message id).
          const request = await this.ledger.request(batch.id);
          await this.publishJobs({ batchId: batch.id, ...request }, pending);
          await this.ledger.markDispatched(batch.id);
        }
        if (await this.coordinate(batch.id, pending, reported, batch.createdAt.getTime())) {
          this.log.info({ batchId: batch.id, pending: pending.length }, "coordinating running batch");
        }
      }
    } catch (err) {
      this.log.warn({ err }, "adopting running batches failed; will retry");
    }
  }

  /**
   * Runs the batch's coordinator here if this instance can take the batch's
   * lease: one coordinator per batch in the cluster (a second one would be
   * harmless, since the ledger lets only one publish the final event, but noisy).
   */
  private async coordinate(
    batchId: string,
    pending: readonly string[],
    reported: readonly { userId: string; outcome: UserOutcome }[],
    startedAt: number,
  ): Promise<boolean> {
    const lease = await this.leases.tryAcquire(batchLeaseKey(batchId), () => {
      this.coordinatedSince.delete(batchId);
      this.coordinators.stop(batchId);
    });
    if (!lease) return false;
    this.coordinatedSince.set(batchId, startedAt);
    this.coordinators.start(batchId, pending, reported, startedAt, () => void this.leases.release(lease));
    return true;
  }

  /** True while the job consumer loop runs (the `consumer` health check). */
  get consumerHeld(): boolean {
    return this.consumer !== undefined && !this.stopped;
  }

  /** A batch's final event went out from here: count it, with its duration when known. */
  private batchEnded(batchId: string, state: unknown): void {
    const since = this.coordinatedSince.get(batchId);
    this.coordinatedSince.delete(batchId);
    if (state !== "completed" && state !== "failed" && state !== "cancelled") return;
    this.metrics.batchFinished(
      state satisfies FinishedBatchState,
      since === undefined ? undefined : (Date.now() - since) / 1000,
    );
  }

  /**
   * Graceful stop: take no new requests or jobs, let in-flight users finish for
   * the drain timeout, hand back the rest (nak: JetStream redelivers them), close.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.adoptTimer);
    for (const sub of this.subs.splice(0)) sub.unsubscribe();
    this.presence?.leave();
    await this.rewarm?.stop();
    await this.scheduler?.stop();
    await this.consumer?.stop();
    const deadline = Date.now() + this.config.drainTimeoutMs;
    while (this.users.busy && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (this.users.busy)
      this.log.warn({ held: this.users.heldCount }, "drain timeout: handing back unfinished jobs");
    this.users.cancelAll("shutdown");
    this.users.stop();
    this.coordinators.stopAll();
    this.inspectionDemand?.stop();
    this.inspection?.stop();
    this.coordinatedSince.clear();
    // /healthz has said 503 since `stopped`; scrapes get the final counts until here.
    await this.healthServer?.close();
    await this.leases.close();
    await this.userLeases.close();
    await this.nc.drain().catch(() => undefined);
    await this.database.close().catch(() => undefined);
    this.stopLocalNats?.();
    this.log.info("stopped");
  }
}

function isReportedUser(o: unknown): o is ReportedUser {
  const r = o as { userId?: unknown; outcome?: unknown } | null;
  return (
    typeof r === "object" &&
    r !== null &&
    typeof r.userId === "string" &&
    (r.outcome === "done" || r.outcome === "failed" || r.outcome === "skipped")
  );
}

function newBatchId(): string {
  return `b${Date.now().toString(36)}${randomBytes(6).toString("hex")}`;
}

export type { BatchEvent, UserOutcome };

/**
 * Jobs per round of a warm-up run again while idle (start-up's rounds are of
 * 100: nothing waits for them). A round of 100 took 25 to 50 ms on 2 cores,
 * and a request that came in during one waited for it (BENCHMARKS.md, stop 18).
 */
const REWARM_ROUND_JOBS = 20;

/**
 * Opens the data pool's connections and runs the critical path's statements
 * once on each (`warmConnections`), so that the first batches do not pay
 * for cold PostgreSQL backends. An optimisation: a failure is logged, never
 * fatal (the first real statement will say what is wrong).
 */
async function warmDatabaseConnections(database: AggDatabase, log: Logger): Promise<void> {
  const started = performance.now();
  try {
    const pids = await warmConnections(database.db, database.connections);
    log.info(
      { connections: new Set(pids).size, ms: Math.round(performance.now() - started) },
      "database connections warmed up",
    );
  } catch (err) {
    log.warn({ err }, "warming database connections up failed; starting anyway");
  }
}

/** A warm-up is an optimisation: if it ever hung, the engine starts anyway after this long. */
const WARM_UP_LIMIT_MS = 15_000;

/**
 * Warms the user and coordinator machines up before the first job (see
 * `warmUpUserAggregator`), giving up after `WARM_UP_LIMIT_MS`.
 */
async function warmUp(
  users: UserActors,
  coordinators: Coordinators,
  config: EngineConfig,
  log: Logger,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<"gave up">((resolve) => {
    timer = setTimeout(() => resolve("gave up"), WARM_UP_LIMIT_MS);
  });
  try {
    const ms = await Promise.race([runWarmUp(users, coordinators, config), gaveUp]);
    if (ms === "gave up")
      log.warn(
        { jobs: config.warmUpJobs },
        `warm-up unfinished after ${WARM_UP_LIMIT_MS} ms; starting anyway`,
      );
    else log.info({ jobs: config.warmUpJobs, ms: Math.round(ms) }, "user machine warmed up");
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One warm-up of `config.warmUpJobs` made-up jobs (at start, and again when
 * idle), inspected as real actors are until somebody watches: not at all,
 * unless `AGG_INSPECT=always`. Then its events go to a publisher of their own
 * that publishes nothing: the same code runs, and the inspector never sees a
 * made-up actor.
 */
async function runWarmUp(
  users: UserActors,
  coordinators: Coordinators,
  config: EngineConfig,
  keepGoing?: () => boolean,
): Promise<number> {
  const sink =
    config.inspect === "always"
      ? createInspectionPublisher({ publish: () => undefined, subject: "warm-up", instance: config.instance })
      : undefined;
  try {
    return await users.warmUp({
      jobs: config.warmUpJobs,
      inspect: sink?.inspect,
      coordinator: coordinators.machine,
      // Run again while idle, it asks before each round whether to give way:
      // short rounds, so that real work never waits long for one.
      ...(keepGoing ? { keepGoing, inFlight: REWARM_ROUND_JOBS } : {}),
    });
  } finally {
    sink?.stop();
  }
}
