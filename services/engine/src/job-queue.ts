import { createHash } from "node:crypto";
import type { AggregationMode } from "@agg/core";
import type { UserJob } from "@agg/machines";
import { createSubjects } from "@agg/protocol";
import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { type NatsConnection, nanos } from "@nats-io/nats-core";
import type { Logger } from "pino";

/** Job messages one pull asks for at most. */
const FETCH_AT_MOST = 8;

/**
 * Users one job message carries at most. A message per user made NATS the
 * nightly run's biggest cost (a publish, a delivery and an ack per user);
 * a group shares them, and a failover redelivers the group as a whole.
 */
export const JOB_GROUP_MAX = 16;

/** A batch is cut into about this many messages at least, so it still spreads over the cluster. */
const JOB_GROUPS_AT_LEAST = 32;

/** Users per job message for a batch with `usersWithWork` jobs: 1 for small batches, up to `JOB_GROUP_MAX`. */
export function jobGroupSize(usersWithWork: number): number {
  return Math.min(JOB_GROUP_MAX, Math.max(1, Math.floor(usersWithWork / JOB_GROUPS_AT_LEAST)));
}

/** What one batch asks of every user it has a job for. */
export interface BatchJobSpec {
  readonly batchId: string;
  readonly mode: AggregationMode;
  readonly from?: string | undefined;
  readonly to?: string | undefined;
}

/** One job message: the same request for a group of a batch's users. */
export interface JobGroup extends BatchJobSpec {
  readonly users: readonly string[];
}

/** Cuts a batch's users into job messages of `groupSize` users, in order. */
export function groupJobs(spec: BatchJobSpec, userIds: readonly string[], groupSize: number): JobGroup[] {
  const groups: JobGroup[] = [];
  for (let i = 0; i < userIds.length; i += groupSize) {
    groups.push({ ...spec, users: userIds.slice(i, i + groupSize) });
  }
  return groups;
}

/** The per-user jobs a group stands for (a user's job id is the same whichever group carries it). */
export function jobsOf(group: JobGroup): UserJob[] {
  return group.users.map((userId) => ({
    jobId: `${group.batchId}:${userId}`,
    batchId: group.batchId,
    userId,
    mode: group.mode,
    // Present even when undefined: a nightly run's jobs (no bounds) then have the
    // hidden class of a full run's (a `to`), and code V8 optimised on one is not
    // thrown away on the other ("wrong map", BENCHMARKS.md, stop 19).
    from: group.from,
    to: group.to,
  }));
}

/** Names of the JetStream objects behind the job queue, derived from the subject prefix. */
export interface JobQueueNames {
  readonly stream: string;
  readonly consumer: string;
  /** Subject of one batch's jobs. */
  jobSubject(batchId: string): string;
  readonly jobWildcard: string;
}

export function jobQueueNames(prefix: string): JobQueueNames {
  const subjects = createSubjects(prefix);
  return {
    stream: subjects.names.jobsStream,
    consumer: subjects.names.jobsConsumer,
    jobSubject: (batchId) => subjects.jobs(batchId),
    jobWildcard: subjects.jobsWildcard,
  };
}

export interface JobQueueOptions {
  readonly prefix: string;
  readonly ackWaitMs: number;
  readonly maxDeliver: number;
  /** Upper bound on jobs the whole cluster holds unacknowledged (server-side backpressure). */
  readonly maxAckPending: number;
  readonly replicas: number;
}

/** A job message as received: its users' jobs and the message that must be settled exactly once. */
export interface ReceivedJobs {
  readonly jobs: readonly UserJob[];
  readonly msg: JsMsg;
  readonly deliveryCount: number;
}

/**
 * The durable queue of user jobs: one JetStream work-queue stream and one shared
 * durable pull consumer, so every instance pulls from the same queue and a job
 * whose instance dies is redelivered to another after the ack wait.
 */
export class JobQueue {
  private constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    readonly names: JobQueueNames,
  ) {}

  /** Creates (or updates) the stream and consumer. Idempotent, safe for many instances at once. */
  static async open(nc: NatsConnection, opts: JobQueueOptions): Promise<JobQueue> {
    const jsm = await jetstreamManager(nc);
    const names = jobQueueNames(opts.prefix);
    const streamConfig = {
      name: names.stream,
      subjects: [names.jobWildcard],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      num_replicas: opts.replicas,
      // Republishing a batch's jobs after a crash must not duplicate them.
      duplicate_window: nanos(10 * 60_000),
    };
    try {
      await jsm.streams.info(names.stream);
      await jsm.streams.update(names.stream, streamConfig);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await jsm.streams.add(streamConfig);
    }
    const consumerConfig = {
      durable_name: names.consumer,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(opts.ackWaitMs),
      max_deliver: opts.maxDeliver,
      max_ack_pending: opts.maxAckPending,
    };
    try {
      await jsm.consumers.info(names.stream, names.consumer);
      await jsm.consumers.update(names.stream, names.consumer, {
        ack_wait: consumerConfig.ack_wait,
        max_deliver: consumerConfig.max_deliver,
        max_ack_pending: consumerConfig.max_ack_pending,
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await jsm.consumers.add(names.stream, consumerConfig);
    }
    return new JobQueue(jetstream(nc), jsm, names);
  }

  /**
   * Publishes job messages and waits until JetStream has stored every one. The
   * message id (the batch and a digest of the group's users) makes a republish
   * of the same group a no-op.
   */
  async publish(groups: readonly JobGroup[]): Promise<void> {
    const CHUNK = 500;
    for (let i = 0; i < groups.length; i += CHUNK) {
      await Promise.all(
        groups.slice(i, i + CHUNK).map((group) =>
          this.js.publish(this.names.jobSubject(group.batchId), JSON.stringify(encodeGroup(group)), {
            msgID: `${group.batchId}:${createHash("sha1").update(group.users.join("\n")).digest("base64url")}`,
          }),
        ),
      );
    }
  }

  /**
   * Pulls job messages while `freeSlots()` (users) allows, handing each to `onJobs`. Returns a
   * function that stops pulling (messages already handed over stay with their owner).
   */
  consume(
    freeSlots: () => number,
    onJobs: (received: ReceivedJobs) => void,
    onPoison: (msg: JsMsg, reason: string) => void,
    log: Logger,
  ): { stop(): Promise<void>; slotFreed(): void } {
    let running = true;
    let wake: (() => void) | undefined;
    const loop = (async () => {
      const consumer = await this.js.consumers.get(this.names.stream, this.names.consumer);
      while (running) {
        const free = freeSlots();
        if (free <= 0) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, 500);
          });
          continue;
        }
        try {
          // A few at a time, however many slots are free: every instance's pull
          // waits in the server's queue, so a batch spreads over the cluster
          // instead of going whole to whichever instance asked first.
          // A message may carry up to JOB_GROUP_MAX users: never ask for more than fit.
          const messages = Math.max(1, Math.min(FETCH_AT_MOST, Math.floor(free / JOB_GROUP_MAX)));
          const batch = await consumer.fetch({ max_messages: messages, expires: 1_000 });
          for await (const msg of batch) {
            let jobs: UserJob[];
            try {
              jobs = decodeJobs(msg.data);
            } catch (err) {
              onPoison(msg, (err as Error).message);
              continue;
            }
            onJobs({ jobs, msg, deliveryCount: msg.info.deliveryCount });
          }
        } catch (err) {
          if (!running) break;
          log.warn({ err }, "fetching jobs failed; retrying");
          await new Promise((r) => setTimeout(r, 1_000));
        }
      }
    })();
    return {
      stop: async () => {
        running = false;
        wake?.();
        await loop.catch(() => undefined);
      },
      slotFreed: () => wake?.(),
    };
  }

  /** Jobs waiting in the stream (for inspection and tests). */
  async pendingCount(): Promise<number> {
    const info = await this.jsm.consumers.info(this.names.stream, this.names.consumer);
    return info.num_pending + info.num_ack_pending;
  }
}

const TOKEN = /^[A-Za-z0-9_-]+$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
/** What a received message may carry (room for a future larger group size, and a bound on a poison message). */
const USERS_PER_MESSAGE_AT_MOST = JOB_GROUP_MAX * 4;

function encodeGroup(group: JobGroup): Record<string, unknown> {
  return {
    batchId: group.batchId,
    mode: group.mode,
    ...(group.from !== undefined ? { from: group.from } : {}),
    ...(group.to !== undefined ? { to: group.to } : {}),
    users: group.users,
  };
}

/**
 * Parses and checks a job message: a group (`users`), or one user (`userId`,
 * what instances before job groups published, so a rolling upgrade finishes
 * their batches). Throws with a reason for anything malformed.
 */
export function decodeJobs(data: Uint8Array): UserJob[] {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(data));
  } catch {
    throw new Error("job payload is not UTF-8 JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new Error("job payload is not an object");
  const v = value as Record<string, unknown>;
  if (typeof v.batchId !== "string" || !TOKEN.test(v.batchId)) throw new Error("job has no valid batchId");
  if (v.mode !== "missing" && v.mode !== "regenerate") throw new Error("job has no valid mode");
  if (v.from !== undefined && (typeof v.from !== "string" || !DAY.test(v.from)))
    throw new Error("job.from is invalid");
  if (v.to !== undefined && (typeof v.to !== "string" || !DAY.test(v.to)))
    throw new Error("job.to is invalid");
  let users: string[];
  if (v.users !== undefined) {
    if (!Array.isArray(v.users) || v.users.length === 0 || v.users.length > USERS_PER_MESSAGE_AT_MOST)
      throw new Error(`job.users is not a list of 1 to ${USERS_PER_MESSAGE_AT_MOST} users`);
    if (!v.users.every((u): u is string => typeof u === "string" && u.length > 0))
      throw new Error("job.users holds something other than user ids");
    users = [...new Set(v.users)];
  } else if (typeof v.userId === "string" && v.userId.length > 0) {
    users = [v.userId];
  } else {
    throw new Error("job has no users");
  }
  return jobsOf({
    batchId: v.batchId,
    mode: v.mode,
    from: typeof v.from === "string" ? v.from : undefined,
    to: typeof v.to === "string" ? v.to : undefined,
    users,
  });
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; api_error?: { err_code?: number }; message?: string };
  return (
    e?.api_error?.err_code === 10059 ||
    e?.api_error?.err_code === 10014 ||
    /not found/i.test(String(e?.message ?? ""))
  );
}
