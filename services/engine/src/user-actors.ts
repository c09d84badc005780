import type { UserSettings } from "@agg/core";
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
import { aggregateUserDays, planUserJob, type UserWorkDeps } from "./user-work";

/** What a user actor reports when a job ends; the engine records it and tells the coordinator. */
export type OutcomeSink = (input: ReportOutcomeInput) => Promise<void>;

export interface UserActorsOptions {
  readonly work: UserWorkDeps;
  readonly passivateAfterMs: number;
  readonly jobTimeoutMs: number;
  /** Milliseconds between `working()` pings on held messages (a fraction of the ack wait). */
  readonly keepAliveMs: number;
  readonly reportOutcome: OutcomeSink;
  /** Called whenever a held job is settled, so the puller can fetch again at once. */
  readonly onJobSettled: () => void;
  readonly log: Logger;
}

type UserActor = Actor<typeof userAggregatorMachine>;

/** One held job message: settled exactly once, by ack (outcome reported) or nak (handed back). */
interface HeldJob {
  readonly msg: JsMsg;
  settled: boolean;
}

/**
 * The live user actors of this instance: one per user with work, created on the
 * first job and removed when it reaches its final state (passivation). A job for
 * a user that already has an actor joins its mailbox, so a user is never
 * aggregated twice at once on this instance (single flight).
 */
export class UserActors {
  private readonly actors = new Map<string, UserActor>();
  private readonly held = new Map<string, HeldJob>();
  /** Plans carry the settings they were made with; the aggregation reuses them. */
  private readonly settingsByJob = new Map<string, UserSettings>();
  private readonly keepAlive: NodeJS.Timeout;
  private readonly machine;

  constructor(private readonly opts: UserActorsOptions) {
    const { work, log } = opts;
    this.machine = userAggregatorMachine.provide({
      actors: {
        planJob: fromPromise<JobPlan, PlanJobInput>(async ({ input }) => {
          const plan = await planUserJob(work, input.job);
          if (plan.settings) this.settingsByJob.set(input.job.jobId, plan.settings);
          const { settings: _settings, ...verdict } = plan;
          return verdict as JobPlan;
        }),
        aggregateDays: fromCallback<EventObject, AggregateDaysInput>(({ input, sendBack }) => {
          const abort = new AbortController();
          const settings = this.settingsByJob.get(input.job.jobId);
          aggregateUserDays(
            work,
            input.job,
            input.range,
            settings,
            (p) => {
              for (const day of p.written)
                sendBack({ type: "DAY_PERSISTED", day: day.day, heartbeats: day.numHeartbeats });
            },
            abort.signal,
          ).then(
            () => sendBack({ type: "AGGREGATION_FINISHED" }),
            (error) => {
              if (!abort.signal.aborted) sendBack({ type: "AGGREGATION_FAILED", error });
            },
          );
          return () => abort.abort();
        }),
        reportOutcome: fromPromise<void, ReportOutcomeInput>(async ({ input }) => {
          this.settingsByJob.delete(input.job.jobId);
          await opts.reportOutcome(input);
          this.settle(input.job.jobId, "ack");
        }),
      },
      actions: {
        closeJobChannel: (_, params: CloseJobChannelParams) => {
          // The only place a user's channel closes: unfinished jobs go back to
          // JetStream for another actor (here or on another instance).
          const unfinished = [...(params.currentJob ? [params.currentJob] : []), ...params.queuedJobs];
          for (const job of unfinished) {
            this.settingsByJob.delete(job.jobId);
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
      for (const h of this.held.values()) if (!h.settled) h.msg.working();
    }, opts.keepAliveMs);
    this.keepAlive.unref();
  }

  /** Jobs held by this instance (in an actor's hands or mailbox). */
  get heldCount(): number {
    return this.held.size;
  }

  /** Hands a received job to its user's actor, creating the actor if needed. */
  dispatch(job: UserJob, msg: JsMsg): void {
    const previous = this.held.get(job.jobId);
    if (previous) {
      // The same job redelivered while we still hold it: keep the newer message handle.
      previous.settled = true;
    }
    this.held.set(job.jobId, { msg, settled: false });
    let actor = this.actors.get(job.userId);
    if (!actor || actor.getSnapshot().status !== "active") {
      actor = this.spawn(job.userId);
    }
    actor.send({ type: "JOB_RECEIVED", job });
  }

  private spawn(userId: string): UserActor {
    const actor = createActor(this.machine, {
      id: `user:${userId}`,
      input: { userId, passivateAfterMs: this.opts.passivateAfterMs, jobTimeoutMs: this.opts.jobTimeoutMs },
    });
    this.actors.set(userId, actor);
    actor.subscribe({
      complete: () => {
        if (this.actors.get(userId) === actor) this.actors.delete(userId);
      },
      error: (err) => {
        this.opts.log.error({ err, userId }, "user actor crashed");
        if (this.actors.get(userId) === actor) this.actors.delete(userId);
      },
    });
    actor.start();
    return actor;
  }

  private settle(jobId: string, how: "ack" | "nak"): void {
    const h = this.held.get(jobId);
    if (!h) return;
    this.held.delete(jobId);
    if (h.settled) return;
    h.settled = true;
    if (how === "ack") h.msg.ack();
    else h.msg.nak();
    this.opts.onJobSettled();
  }

  /** Sends CANCEL to every actor: each closes its channel, handing unfinished jobs back. */
  cancelAll(reason: string): void {
    for (const actor of this.actors.values()) actor.send({ type: "CANCEL", reason });
  }

  /** True while any actor is working on or holding a job. */
  get busy(): boolean {
    return this.held.size > 0;
  }

  /** Snapshots of the live actors, for `agg.inspect`. */
  snapshots(): { userId: string; snapshot: UserAggregatorSnapshot }[] {
    return [...this.actors.entries()].map(([userId, actor]) => ({ userId, snapshot: actor.getSnapshot() }));
  }

  stop(): void {
    clearInterval(this.keepAlive);
  }
}
