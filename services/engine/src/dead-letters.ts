import type { Subjects } from "@agg/protocol";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { nanos } from "@nats-io/nats-core";
import type { Logger } from "pino";

/** What is kept of a message the engine gave up on. */
export interface DeadLetter {
  /** The subject it arrived on. */
  readonly subject: string;
  readonly reason: string;
  /** Deliveries it had (1 for core NATS messages). */
  readonly deliveries: number;
  /** The payload, base64 (it may not be text). */
  readonly payload: string;
  readonly instance: string;
  readonly at: string;
}

/**
 * Poison messages are never retried forever: after their bound they are
 * terminated, logged once, counted, and kept in the `<PREFIX>_DEAD` stream
 * (subjects `<prefix>.x.dead.<kind>`) for inspection, e.g.
 * `nats stream view AGG_DEAD`.
 */
export class DeadLetters {
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly js: JetStreamClient,
    private readonly subjects: Subjects,
    private readonly instance: string,
    private readonly log: Logger,
    /** Called once per dead letter, e.g. to count it in metrics. */
    private readonly onRecorded: (kind: string) => void = () => undefined,
  ) {}

  /** Creates the dead-letter stream if missing: 14 days, at most 100 000 messages. */
  static async ensureStream(jsm: JetStreamManager, subjects: Subjects, replicas: number): Promise<void> {
    const config = {
      name: subjects.names.deadLetterStream,
      subjects: [subjects.deadLetterWildcard],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      num_replicas: replicas,
      max_age: nanos(14 * 24 * 3_600_000),
      max_msgs: 100_000,
    };
    try {
      await jsm.streams.info(config.name);
    } catch {
      await jsm.streams.add(config);
    }
  }

  /** Keeps one poison message. Never throws: losing a dead letter must not take the engine down. */
  async record(
    kind: string,
    subject: string,
    data: Uint8Array,
    reason: string,
    deliveries = 1,
  ): Promise<void> {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    this.onRecorded(kind);
    this.log.warn({ kind, subject, reason, deliveries }, "poison message dead-lettered");
    const letter: DeadLetter = {
      subject,
      reason,
      deliveries,
      payload: Buffer.from(data).toString("base64"),
      instance: this.instance,
      at: new Date().toISOString(),
    };
    try {
      await this.js.publish(this.subjects.deadLetter(kind), JSON.stringify(letter));
    } catch (err) {
      this.log.error({ err, kind, subject }, "could not store a dead letter");
    }
  }

  /** Dead letters recorded by this instance, by kind. */
  get recorded(): ReadonlyMap<string, number> {
    return this.counts;
  }
}
