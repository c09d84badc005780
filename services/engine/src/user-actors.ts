import type { DaySummary, UserSettings } from "@agg/core";
import {
  type AggregateDaysInput,
  type CloseJobChannelParams,
  type JobPlan,
  type PlanJobInput,
  type ReportOutcomeInput,
  type UserAggregatorSnapshot,
  type UserJob,
  userAggregatorMachine,
} from "@agg/machines";
import type { JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { type Actor, createActor, type EventObject, fromCallback, fromPromise } from "xstate";
import { HeldMessages } from "./held-messages";
import type { ActorInspection } from "./inspection-demand";
import type { UserLease, UserLeases } from "./user-leases";
import {
  aggregateUserDays,
  jobPlanOf,
  planAhead,
  planUserJob,
  type UserWorkDeps,
  type UserWriter,
} from "./user-work";
import { type WarmUpOptions, warmUpUserAggregator } from "./warm-up";

/** Thrown by a write when this instance can no longer trust its lease on the user. */
export class LeaseLostError extends Error {
  readonly code = "LEASE_LOST";
}

/** One user on this instance: acquiring its lease, then its actor holding it. */
interface UserEntry {
  actor?: UserActor;
  /** The user's lease: a tenure, whose token fences every day write. */
  lease?: UserLease;
  /** Jobs received while the lease is being acquired (or waits for another instance to release it). */
  readonly waiting: UserJob[];
  /** The next attempt to take a lease that another instance holds. */
  retry?: NodeJS.Timeout;
}

/**
 * What a user actor reports when a job ends; the engine records it and tells the
 * coordinator. `seconds`: from the job's arrival here to its outcome.
 * `recordedWithWrite`: set when the job's last day write already recorded it
 * `done` in the ledger (true) or found it no longer pending (false); unset
 * when the ledger is still to be told.
 */
export type OutcomeSink = (
  input: ReportOutcomeInput,
  seconds: number | undefined,
  recordedWithWrite: boolean | undefined,
) => Promise<void>;

export interface UserActorsOptions {
  readonly work: UserWorkDeps;
  /** Cluster-wide single writer per user; each lease is a tenure with its fencing token. */
  readonly leases: UserLeases;
  readonly instance: string;
  /** How long a job whose user is busy on another instance waits before JetStream offers it again. */
  readonly busyRetryMs: number;
  readonly passivateAfterMs: number;
  readonly jobTimeoutMs: number;
  /** Milliseconds between `working()` pings on held messages (a fraction of the ack wait). */
  readonly keepAliveMs: number;
  readonly reportOutcome: OutcomeSink;
  /** Called whenever a held job is settled, so the puller can fetch again at once. */
  readonly onJobSettled: () => void;
  /** XState inspection of the user actors while somebody watches (the inspector's event stream). */
  readonly inspection?: ActorInspection;
  readonly log: Logger;
}

type UserActor = Actor<typeof userAggregatorMachine>;

/**
 * The live user actors of this instance: one per user with work, created on the
 * first job and removed when it reaches its final state (passivation). A job for
 * a user that already has an actor joins its mailbox, so a user is never
 * aggregated twice at once on this instance (single flight).
 */
export class UserActors {
  private readonly users = new Map<string, UserEntry>();
  private stopping = false;
  /** Every job held here, with the message that carries it. */
  private readonly held = new HeldMessages<JsMsg>();
  /** Plans carry the settings they were made with; the aggregation reuses them. */
  private readonly settingsByJob = new Map<string, UserSettings>();
  /**
   * Jobs whose last write found their ledger row no longer pending (see
   * `OutcomeSink`), until reported. (A write that recorded the outcome says
   * so on `AGGREGATION_FINISHED`, and the outcome is only announced.)
   */
  private readonly noLongerPending = new Set<string>();
  private readonly keepAlive: NodeJS.Timeout;
  private readonly machine;

  constructor(private readonly opts: UserActorsOptions) {
    const { work, log } = opts;
    this.machine = userAggregatorMachine.provide({
      actors: {
        planJob: fromPromise<JobPlan, PlanJobInput>(async ({ input }) => {
          const plan = await planUserJob(work, input.job);
          if (plan.settings) this.settingsByJob.set(input.job.jobId, plan.settings);
          return jobPlanOf(plan);
        }),
        aggregateDays: fromCallback<EventObject, AggregateDaysInput>(({ input, sendBack }) => {
          const cancellation = { cancelled: false };
          const settings = this.settingsByJob.get(input.job.jobId);
          const writer = this.writerFor(input.job.userId);
          // The days of a write are announced when the next write is done, so
          // the last write's days travel with AGGREGATION_FINISHED.
          let unannounced: readonly DaySummary[] = [];
          aggregateUserDays(
            work,
            input.job,
            input.range,
            settings,
            (p) => {
              log.debug(
                {
                  userId: input.job.userId,
                  batchId: input.job.batchId,
                  days: p.days,
                  heartbeats: p.heartbeats,
                },
                "days written",
              );
              for (const day of unannounced)
                sendBack({ type: "DAY_PERSISTED", day: day.day, heartbeats: day.numHeartbeats });
              unannounced = p.written;
            },
            cancellation,
            writer,
          ).then(
            (result) => {
              if (result.completed === false) this.noLongerPending.add(input.job.jobId);
              let heartbeats = 0;
              for (const day of unannounced) heartbeats += day.numHeartbeats;
              sendBack({
                type: "AGGREGATION_FINISHED",
                days: unannounced.length,
                heartbeats,
                outcomeRecorded: result.completed === true,
              });
            },
            (error) => {
              if (cancellation.cancelled) return;
              if ((error as { code?: string }).code === "LEASE_LOST") {
                // Another instance owns the user now: this is no failure of the
                // user's job, so hand it back instead of reporting an outcome.
                log.warn({ userId: input.job.userId, err: error }, "fenced out; handing the job back");
                sendBack({ type: "CANCEL", reason: "lease-lost" });
              } else {
                sendBack({ type: "AGGREGATION_FAILED", error });
              }
            },
          );
          return () => {
            cancellation.cancelled = true;
          };
        }),
        reportOutcome: fromPromise<void, ReportOutcomeInput>(async ({ input }) => {
          this.settingsByJob.delete(input.job.jobId);
          const recordedWithWrite = this.noLongerPending.delete(input.job.jobId) ? false : undefined;
          await opts.reportOutcome(input, this.secondsSinceReceived(input.job.jobId), recordedWithWrite);
          this.settle(input.job.jobId, "ack");
        }),
      },
      actions: {
        announceOutcome: (_, params: ReportOutcomeInput) => {
          // The job's last write recorded it `done`: the sink has no I/O left to
          // wait for (it counts, logs and queues the coordinator's report).
          this.settingsByJob.delete(params.job.jobId);
          opts.reportOutcome(params, this.secondsSinceReceived(params.job.jobId), true).catch((err) => {
            log.error({ err, userId: params.job.userId }, "could not announce a recorded outcome");
          });
          this.settle(params.job.jobId, "ack");
        },
        closeJobChannel: (_, params: CloseJobChannelParams) => {
          // The only place a user's channel closes: unfinished jobs go back to
          // JetStream for another actor (here or on another instance).
          const unfinished = [...(params.currentJob ? [params.currentJob] : []), ...params.queuedJobs];
          for (const job of unfinished) {
            this.settingsByJob.delete(job.jobId);
            this.noLongerPending.delete(job.jobId);
            this.settle(job.jobId, "nak");
          }
          log.debug(
            { userId: params.userId, reason: params.reason, handedBack: unfinished.length },
            "user actor closed",
          );
        },
      },
    });
    this.keepAlive = setInterval(() => {
      this.held.keepAlive();
    }, opts.keepAliveMs);
    this.keepAlive.unref();
  }

  /**
   * Runs made-up jobs through this instance's own machine, in memory (see
   * `warmUpUserAggregator`); `options.inspect` must be a sink that publishes nowhere.
   * @returns the milliseconds it took.
   */
  warmUp(options: WarmUpOptions): Promise<number> {
    return warmUpUserAggregator(this.machine, options);
  }

  /** Jobs held by this instance (in an actor's hands or mailbox). */
  get heldCount(): number {
    return this.held.size;
  }

  /**
   * Hands the jobs of a received message to their users' actors, acquiring each
   * user's lease and creating its actor if needed.
   */
  dispatch(jobs: readonly UserJob[], msg: JsMsg): void {
    const byId = new Map(jobs.map((job) => [job.jobId, job]));
    for (const jobId of this.held.receive([...byId.keys()], msg, Date.now())) this.toActor(byId.get(jobId)!);
  }

  private toActor(job: UserJob): void {
    const entry = this.users.get(job.userId);
    if (entry?.actor && entry.actor.getSnapshot().status === "active") {
      entry.actor.send({ type: "JOB_RECEIVED", job });
    } else if (entry) {
      entry.waiting.push(job);
    } else {
      const fresh: UserEntry = { waiting: [job] };
      this.users.set(job.userId, fresh);
      void this.start(job.userId, fresh);
    }
  }

  /** Takes the user's lease (a new tenure: its token fences every write), then starts its actor with the waiting jobs. */
  private async start(userId: string, entry: UserEntry): Promise<void> {
    const { leases, log } = this.opts;
    let lease: UserLease | null = null;
    try {
      lease = await leases.tryAcquire(userId, () => this.onLeaseLost(userId));
    } catch (err) {
      log.warn({ err, userId }, "could not take the user's lease; retrying later");
      lease = null;
    }
    if (!lease) {
      // Busy on another instance (or the lease store is away): single flight
      // across the cluster means the jobs wait. They wait *here*, held and kept
      // alive, rather than being nak'ed: every nak would count as a delivery and
      // a long wait would exhaust max_deliver, losing the job.
      if (this.stopping) {
        this.users.delete(userId);
        for (const job of entry.waiting.splice(0)) this.settle(job.jobId, "nak");
        return;
      }
      entry.retry = setTimeout(() => {
        entry.retry = undefined;
        void this.start(userId, entry);
      }, this.opts.busyRetryMs);
      return;
    }
    entry.lease = lease;
    // The actor starts with the jobs that waited for it (no event each), each
    // planned here when its batch's triage left what planning needs.
    entry.actor = this.spawn(
      userId,
      lease,
      entry.waiting.splice(0).map((job) => this.plannedAhead(job)),
    );
  }

  /** The job planned now when that needs no I/O (see `planAhead`), else as it came. */
  private plannedAhead(job: UserJob): UserJob {
    const planned = planAhead(this.opts.work, job);
    if (!planned) return job;
    this.settingsByJob.set(job.jobId, planned.settings);
    return planned.job;
  }

  private spawn(userId: string, lease: UserLease, jobs: readonly UserJob[]): UserActor {
    const actor = createActor(this.machine, {
      id: `user:${userId}`,
      input: {
        userId,
        passivateAfterMs: this.opts.passivateAfterMs,
        jobTimeoutMs: this.opts.jobTimeoutMs,
        jobs,
      },
      ...this.opts.inspection?.createOptions,
    });
    const ended = () => {
      this.opts.inspection?.release(actor);
      const entry = this.users.get(userId);
      if (entry?.actor === actor) this.users.delete(userId);
      void this.opts.leases.release(lease);
    };
    actor.subscribe({
      complete: ended,
      error: (err) => {
        this.opts.log.error({ err, userId }, "user actor crashed");
        ended();
      },
    });
    this.opts.inspection?.adopt(actor);
    actor.start();
    return actor;
  }

  private secondsSinceReceived(jobId: string): number | undefined {
    const receivedAt = this.held.receivedAt(jobId);
    return receivedAt === undefined ? undefined : (Date.now() - receivedAt) / 1000;
  }

  private onLeaseLost(userId: string): void {
    this.users.get(userId)?.actor?.send({ type: "CANCEL", reason: "lease-lost" });
  }

  private writerFor(userId: string): UserWriter | undefined {
    const entry = this.users.get(userId);
    const lease = entry?.lease;
    if (!lease) return undefined;
    return {
      fence: { token: lease.token, holder: this.opts.instance },
      assertLeaseHeld: () => {
        if (!lease.held || Date.now() > lease.validUntil) {
          throw new LeaseLostError(`lease on user ${userId} expired or lost`);
        }
      },
    };
  }

  /** Settles one job; its message is acked or nak'ed once its last job is settled. */
  private settle(jobId: string, how: "ack" | "nak"): void {
    if (this.held.settle(jobId, how)) this.opts.onJobSettled();
  }

  /** Sends CANCEL to every actor: each closes its channel, handing unfinished jobs back. */
  cancelAll(reason: string): void {
    this.stopping = true;
    for (const [userId, entry] of [...this.users]) {
      if (entry.actor) {
        entry.actor.send({ type: "CANCEL", reason });
      } else if (entry.retry) {
        // Still waiting for another instance's lease: hand the jobs back.
        clearTimeout(entry.retry);
        this.users.delete(userId);
        for (const job of entry.waiting.splice(0)) this.settle(job.jobId, "nak");
      }
    }
  }

  /** True while any actor is working on or holding a job. */
  get busy(): boolean {
    return this.held.size > 0;
  }

  /** Snapshots of the live actors, for `agg.inspect`. */
  snapshots(): { userId: string; snapshot: UserAggregatorSnapshot; leaseToken: number }[] {
    const now = Date.now();
    const out: { userId: string; snapshot: UserAggregatorSnapshot; leaseToken: number }[] = [];
    for (const [userId, entry] of this.users) {
      // An actor whose lease has lapsed locally is not "working on" the user any more.
      if (!entry.actor || !entry.lease?.held || now > entry.lease.validUntil) continue;
      const snapshot = entry.actor.getSnapshot();
      if (snapshot.status === "active") out.push({ userId, snapshot, leaseToken: Number(entry.lease.token) });
    }
    return out;
  }

  stop(): void {
    clearInterval(this.keepAlive);
  }
}
