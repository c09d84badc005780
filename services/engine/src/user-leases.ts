import {
  acquireUserLeases,
  type Database,
  type HeldUserLease,
  releaseUserLeases,
  renewUserLeases,
} from "@agg/store";
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import { Coalescer } from "./coalescer";

/**
 * "This instance works on this user", for one tenure: the lease lives in
 * PostgreSQL next to the user's fencing token (`agg_user_fences`), and taking it
 * starts the tenure whose token every write of the user is checked against.
 */
export interface UserLease {
  readonly userId: string;
  /** The tenure's fencing token (also what `agg.inspect` shows as the lease token). */
  readonly token: bigint;
  /** False once renewal failed or the lease was released. */
  readonly held: boolean;
  /** Local deadline (epoch ms) after which this holder must assume the lease is gone. */
  readonly validUntil: number;
}

interface HeldLease extends UserLease {
  held: boolean;
  validUntil: number;
  readonly onLost: () => void;
}

export interface UserLeasesOptions {
  /**
   * Where the leases live: a lane no data work queues on (`AggDatabase.control`),
   * so a renewal is sent when it is due, however busy the instance is.
   */
  readonly db: Kysely<Database>;
  /** This instance, as the fence table names it. */
  readonly holder: string;
  /** Lease lifetime without renewal; renewed every third of it. */
  readonly ttlMs: number;
  /** How acquisitions and releases of concurrent actors are grouped into statements. */
  readonly grouping: { readonly maxGroup: number; readonly maxInFlight: number };
  readonly log: Logger;
}

/**
 * The user leases this instance holds. Every user actor needs one, so a
 * nightly run takes hundreds in a burst: concurrent acquisitions and releases
 * share one statement each (group commit), and one statement renews them all.
 * A lease in a NATS KV bucket cost two requests per user and was the single
 * largest cost of a nightly run.
 *
 * Expiry is judged by PostgreSQL's clock alone; locally, a lease counts from
 * before the request that took it, so this holder gives up no later than
 * PostgreSQL lets the next one in (a paused process that resumes finds its
 * lease past `validUntil`, and its stale token is refused anyway).
 */
export class UserLeases {
  private readonly held = new Map<string, HeldLease>();
  /** Releases on their way to PostgreSQL, by user: a new acquisition of the user waits for it. */
  private readonly releasing = new Map<string, Promise<void>>();
  private readonly acquisitions: Coalescer<string, bigint | null>;
  private readonly releases: Coalescer<HeldUserLease, undefined>;
  private readonly renewTimer: NodeJS.Timeout;
  private renewing = false;

  constructor(private readonly opts: UserLeasesOptions) {
    const { db, holder, ttlMs } = opts;
    this.acquisitions = new Coalescer(async (userIds) => {
      const granted = await acquireUserLeases(db, userIds, holder, ttlMs);
      return userIds.map((id) => granted.get(id) ?? null);
    }, opts.grouping);
    this.releases = new Coalescer(async (leases) => {
      await releaseUserLeases(db, leases, holder);
      return leases.map(() => undefined);
    }, opts.grouping);
    this.renewTimer = setInterval(() => void this.renewAll(), Math.max(100, Math.floor(ttlMs / 3)));
    this.renewTimer.unref();
  }

  /**
   * Takes the user's lease, starting a new tenure (a new fencing token).
   * Resolves with the lease, or null while another holder's lease is live.
   * `onLost` runs once if the lease is later lost (renewal refused or too late).
   */
  async tryAcquire(userId: string, onLost: () => void): Promise<UserLease | null> {
    const existing = this.held.get(userId);
    if (existing?.held) return existing;
    // The user's last actor here just closed and its release is still queued: without
    // waiting, PostgreSQL would find our own lease live and the job would wait a retry.
    await this.releasing.get(userId);
    const asked = Date.now();
    const token = await this.acquisitions.submit(userId);
    if (token === null) return null;
    const lease: HeldLease = { userId, token, held: true, validUntil: asked + this.opts.ttlMs, onLost };
    this.held.set(userId, lease);
    return lease;
  }

  /** Gives the lease up (only if still this tenure's), so the next holder need not wait for it to expire. */
  async release(lease: UserLease): Promise<void> {
    const l = this.held.get(lease.userId);
    if (!l || l !== lease) return;
    this.held.delete(lease.userId);
    if (!l.held) return;
    l.held = false;
    const released = this.releases.submit({ userId: l.userId, token: l.token }).then(
      () => undefined,
      (err: unknown) => {
        // The database is away: the lease expires by itself.
        this.opts.log.warn({ err, userId: l.userId }, "could not release a user lease; it will expire");
      },
    );
    this.releasing.set(l.userId, released);
    await released;
    if (this.releasing.get(l.userId) === released) this.releasing.delete(l.userId);
  }

  get count(): number {
    return this.held.size;
  }

  private async renewAll(): Promise<void> {
    if (this.renewing || this.held.size === 0) return;
    this.renewing = true;
    try {
      const now = Date.now();
      const due: HeldLease[] = [];
      for (const l of this.held.values()) {
        if (now > l.validUntil) this.lose(l, "expired before renewal (process paused?)");
        else due.push(l);
      }
      if (due.length === 0) return;
      let renewed: Set<string>;
      try {
        renewed = await renewUserLeases(
          this.opts.db,
          due.map((l) => ({ userId: l.userId, token: l.token })),
          this.opts.holder,
          this.opts.ttlMs,
        );
      } catch (err) {
        // The database is away: keep the leases until their local deadline.
        this.opts.log.warn({ err, leases: due.length }, "could not renew user leases; retrying");
        for (const l of due) if (Date.now() > l.validUntil) this.lose(l, "could not renew before expiry");
        return;
      }
      for (const l of due) {
        if (!l.held) continue; // released meanwhile
        if (renewed.has(l.userId)) l.validUntil = now + this.opts.ttlMs;
        else this.lose(l, "taken by another holder");
      }
    } finally {
      this.renewing = false;
    }
  }

  private lose(l: HeldLease, reason: string): void {
    if (!l.held) return;
    l.held = false;
    this.held.delete(l.userId);
    this.opts.log.warn({ userId: l.userId, token: String(l.token), reason }, "user lease lost");
    l.onLost();
  }

  /** Stops renewing and releases every lease still held. */
  async close(): Promise<void> {
    clearInterval(this.renewTimer);
    await Promise.all([...this.held.values()].map((l) => this.release(l)));
  }
}
