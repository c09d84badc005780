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

/** Jobs one pull asks for at most. */
const FETCH_AT_MOST = 8;

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

/** A job as received: the decoded payload and the message that must be settled exactly once. */
export interface ReceivedJob {
  readonly job: UserJob;
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
   * Publishes jobs and waits until JetStream has stored every one.
   * The message id makes a republish of the same (batch, user) a no-op.
   */
  async publish(jobs: readonly UserJob[]): Promise<void> {
    const CHUNK = 500;
    for (let i = 0; i < jobs.length; i += CHUNK) {
      await Promise.all(
        jobs.slice(i, i + CHUNK).map((job) =>
          this.js.publish(this.names.jobSubject(job.batchId), JSON.stringify(job), {
            msgID: `${job.batchId}:${job.userId}`,
          }),
        ),
      );
    }
  }

  /**
   * Pulls jobs while `freeSlots()` allows, handing each to `onJob`. Returns a
   * function that stops pulling (messages already handed over stay with their owner).
   */
  consume(
    freeSlots: () => number,
    onJob: (received: ReceivedJob) => void,
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
          const batch = await consumer.fetch({ max_messages: Math.min(free, FETCH_AT_MOST), expires: 1_000 });
          for await (const msg of batch) {
            let job: UserJob;
            try {
              job = decodeJob(msg.data);
            } catch (err) {
              onPoison(msg, (err as Error).message);
              continue;
            }
            onJob({ job, msg, deliveryCount: msg.info.deliveryCount });
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

/** Parses and checks a job message; throws with a reason for anything malformed. */
export function decodeJob(data: Uint8Array): UserJob {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(data));
  } catch {
    throw new Error("job payload is not UTF-8 JSON");
  }
  if (typeof value !== "object" || value === null) throw new Error("job payload is not an object");
  const v = value as Record<string, unknown>;
  if (typeof v.batchId !== "string" || !TOKEN.test(v.batchId)) throw new Error("job has no valid batchId");
  if (typeof v.userId !== "string" || v.userId.length === 0) throw new Error("job has no userId");
  if (v.mode !== "missing" && v.mode !== "regenerate") throw new Error("job has no valid mode");
  const day = /^\d{4}-\d{2}-\d{2}$/;
  if (v.from !== undefined && (typeof v.from !== "string" || !day.test(v.from)))
    throw new Error("job.from is invalid");
  if (v.to !== undefined && (typeof v.to !== "string" || !day.test(v.to)))
    throw new Error("job.to is invalid");
  return {
    jobId: `${v.batchId}:${v.userId}`,
    batchId: v.batchId,
    userId: v.userId,
    mode: v.mode,
    ...(typeof v.from === "string" ? { from: v.from } : {}),
    ...(typeof v.to === "string" ? { to: v.to } : {}),
  };
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; api_error?: { err_code?: number }; message?: string };
  return (
    e?.api_error?.err_code === 10059 ||
    e?.api_error?.err_code === 10014 ||
    /not found/i.test(String(e?.message ?? ""))
  );
}
