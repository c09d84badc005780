/** What `HeldMessages` needs of a JetStream message (`JsMsg` has it). */
export interface SettleableMessage {
  ack(): void;
  nak(): void;
  /** Resets the ack wait: the message is still being worked on. */
  working(): void;
}

interface Held<M extends SettleableMessage> {
  msg: M;
  /** When its jobs reached this instance (a redelivery while held keeps the first arrival). */
  receivedAt: number;
  /** Its jobs not settled yet. */
  readonly open: Set<string>;
  handedBack: boolean;
  /** Settled, or replaced by a redelivery of itself: never acked or nak'ed (again). */
  done: boolean;
}

/**
 * The job messages an instance holds, each carrying a group of users' jobs. A
 * message is settled exactly once, when its last job is: acked when every job
 * reported its outcome, nak'ed when any was handed back (the group returns
 * whole; its finished users are recognised by the ledger and not counted twice).
 *
 * @example
 * ```ts
 * const held = new HeldMessages<JsMsg>();
 * for (const jobId of held.receive(jobs.map((j) => j.jobId), msg, Date.now())) startJob(jobId);
 * held.settle(jobId, "ack"); // the message is acked with its last job
 * ```
 */
export class HeldMessages<M extends SettleableMessage> {
  private readonly byJob = new Map<string, Held<M>>();

  /**
   * Takes a received message's jobs. Returns the jobs to start: those not held
   * here already. A job still held from an earlier delivery of the same message
   * (its ack wait passed while it ran) stays where it is, and the newer delivery
   * becomes the one that settles it: the older is never acked or nak'ed.
   */
  receive(jobIds: readonly string[], msg: M, now: number): string[] {
    const message: Held<M> = { msg, receivedAt: now, open: new Set(), handedBack: false, done: false };
    const toStart: string[] = [];
    for (const jobId of jobIds) {
      const previous = this.byJob.get(jobId);
      if (previous === message) continue;
      if (previous) {
        this.supersede(previous, message);
        continue;
      }
      message.open.add(jobId);
      this.byJob.set(jobId, message);
      toStart.push(jobId);
    }
    return toStart;
  }

  /**
   * Settles one job; its message is acked or nak'ed once its last job is settled.
   * @returns false when the job is not held here (settled already, or never received).
   */
  settle(jobId: string, how: "ack" | "nak"): boolean {
    const message = this.byJob.get(jobId);
    if (!message) return false;
    this.byJob.delete(jobId);
    message.open.delete(jobId);
    if (how === "nak") message.handedBack = true;
    if (message.open.size === 0 && !message.done) {
      message.done = true;
      if (message.handedBack) message.msg.nak();
      else message.msg.ack();
    }
    return true;
  }

  /** When the job's message reached this instance; undefined when the job is not held. */
  receivedAt(jobId: string): number | undefined {
    return this.byJob.get(jobId)?.receivedAt;
  }

  /** Jobs held (in an actor's hands or mailbox, or waiting for a lease). */
  get size(): number {
    return this.byJob.size;
  }

  /** Tells JetStream that every unsettled message is still being worked on. */
  keepAlive(): void {
    for (const message of new Set(this.byJob.values())) if (!message.done) message.msg.working();
  }

  private supersede(previous: Held<M>, next: Held<M>): void {
    previous.done = true;
    next.receivedAt = Math.min(next.receivedAt, previous.receivedAt);
    next.handedBack ||= previous.handedBack;
    for (const jobId of previous.open) {
      next.open.add(jobId);
      this.byJob.set(jobId, next);
    }
    previous.open.clear();
  }
}
