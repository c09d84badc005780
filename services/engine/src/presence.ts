import type { NatsConnection, Subscription } from "@nats-io/nats-core";

/** What an instance announces about itself. */
export interface InstanceAnnouncement {
  readonly id: string;
  readonly startedAt: string;
  /** Present (and true) in the last announcement of an instance that is stopping. */
  readonly leaving?: boolean;
}

/**
 * Which engine instances are alive, learnt from their announcements on one
 * subject every `everyMs`. Used by `agg.inspect` to know how many answers to
 * wait for, and to list instances that did not answer.
 */
export class Presence {
  private readonly seen = new Map<string, { at: number; info: InstanceAnnouncement }>();
  private readonly sub: Subscription;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly nc: NatsConnection,
    private readonly subject: string,
    private readonly self: InstanceAnnouncement,
    private readonly everyMs = 1_000,
  ) {
    this.sub = nc.subscribe(subject, {
      callback: (err, m) => {
        if (err) return;
        try {
          const info = m.json<InstanceAnnouncement>();
          if (typeof info?.id !== "string") return;
          if (info.leaving) this.seen.delete(info.id);
          else this.seen.set(info.id, { at: Date.now(), info });
        } catch {
          // not an announcement: ignore
        }
      },
    });
    this.seen.set(self.id, { at: Date.now(), info: self });
    this.announce();
    this.timer = setInterval(() => this.announce(), everyMs);
    this.timer.unref();
  }

  private announce(): void {
    this.nc.publish(this.subject, JSON.stringify(this.self));
  }

  /** Instances heard from within the last three announcement periods (always including this one). */
  alive(): InstanceAnnouncement[] {
    const cutoff = Date.now() - 3 * this.everyMs;
    this.seen.set(this.self.id, { at: Date.now(), info: this.self });
    return [...this.seen.values()].filter((s) => s.at >= cutoff).map((s) => s.info);
  }

  /** Announces departure, so others stop waiting for this instance at once. */
  leave(): void {
    clearInterval(this.timer);
    this.nc.publish(this.subject, JSON.stringify({ ...this.self, leaving: true }));
    this.sub.unsubscribe();
  }
}
