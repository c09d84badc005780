import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import { type NatsConnection, nanos } from "@nats-io/nats-core";
import type { Logger } from "pino";

/**
 * A time-limited claim on one key of the leases bucket: "this instance
 * coordinates this batch" or "leads the nightly schedule". (A user's lease
 * lives in PostgreSQL with its fencing token: `user-leases.ts`.)
 */
export interface Lease {
  readonly key: string;
  /** The KV revision at which this lease was acquired (shown by `agg.inspect`). */
  readonly token: number;
  /** False once renewal failed or the lease was released. */
  readonly held: boolean;
  /** Local deadline (epoch ms) after which this holder must assume the lease is gone. */
  readonly validUntil: number;
}

interface HeldLease extends Lease {
  held: boolean;
  validUntil: number;
  revision: number;
  /** The renewal in flight, if any: a release waits for it, or it would delete with a stale revision. */
  renewal?: Promise<void>;
  readonly onLost: () => void;
}

export interface LeasesOptions {
  readonly bucket: string;
  /** Lease lifetime without renewal; the bucket's TTL. */
  readonly ttlMs: number;
  readonly replicas: number;
  readonly instance: string;
  readonly log: Logger;
}

/**
 * `create` keeps an existing bucket's TTL. Left alone, a changed
 * `AGG_LEASE_TTL_MS` would make this instance trust its leases for one TTL
 * while NATS expires them after another: a longer local TTL would let two
 * instances work on one user. So the bucket takes the configured TTL (the
 * last instance started wins; every instance of a cluster should agree).
 */
async function ensureBucketTtl(jsm: JetStreamManager, kv: KV, opts: LeasesOptions): Promise<void> {
  const status = await kv.status();
  if (status.ttl === opts.ttlMs) return;
  const stream = `KV_${opts.bucket}`;
  const { config } = await jsm.streams.info(stream);
  // The duplicate window may not exceed max_age; KV buckets keep it at min(TTL, 2 min).
  const window = nanos(Math.min(opts.ttlMs, 120_000));
  await jsm.streams.update(stream, { ...config, max_age: nanos(opts.ttlMs), duplicate_window: window });
  opts.log.warn(
    { bucket: opts.bucket, fromMs: status.ttl, toMs: opts.ttlMs },
    "the leases bucket had another TTL; it now has AGG_LEASE_TTL_MS",
  );
}

/** A batch's lease key. KV keys allow `[-/_=.a-zA-Z0-9]`; ids are base64url-encoded to fit. */
export function batchLeaseKey(batchId: string): string {
  return `b.${Buffer.from(batchId, "utf8").toString("base64url") || "_"}`;
}

/**
 * Leases in a JetStream KV bucket whose TTL is the lease lifetime: acquire is
 * `create` (fails while another holder's entry lives), renew is `update` at the
 * last revision (fails if anyone else wrote), and a dead holder's entry simply
 * expires. No consensus of our own: JetStream's per-subject sequence is the
 * compare-and-set.
 */
export class Leases {
  private readonly held = new Map<string, HeldLease>();
  private readonly renewTimer: NodeJS.Timeout;
  private renewing = false;

  private constructor(
    private readonly kv: KV,
    private readonly jsm: JetStreamManager,
    private readonly opts: LeasesOptions,
  ) {
    this.renewTimer = setInterval(() => void this.renewAll(), Math.max(100, Math.floor(opts.ttlMs / 3)));
    this.renewTimer.unref();
  }

  static async open(nc: NatsConnection, opts: LeasesOptions): Promise<Leases> {
    const kv = await new Kvm(nc).create(opts.bucket, {
      ttl: opts.ttlMs,
      history: 1,
      replicas: opts.replicas,
    });
    const jsm = await jetstreamManager(nc);
    await ensureBucketTtl(jsm, kv, opts);
    return new Leases(kv, jsm, opts);
  }

  /**
   * Tries to take `key`. Resolves with the lease, or null when another live
   * holder has it. `onLost` runs once if a renewal later fails.
   */
  async tryAcquire(key: string, onLost: () => void): Promise<Lease | null> {
    const existing = this.held.get(key);
    if (existing?.held) return existing;
    const value = JSON.stringify({ holder: this.opts.instance, at: new Date().toISOString() });
    let revision: number;
    try {
      revision = await this.kv.create(key, value);
    } catch (err) {
      if (isWrongLastSequence(err)) return null;
      throw err;
    }
    const lease: HeldLease = {
      key,
      token: revision,
      revision,
      held: true,
      validUntil: Date.now() + this.opts.ttlMs,
      onLost,
    };
    this.held.set(key, lease);
    return lease;
  }

  /** Gives the lease up (only if still ours), so the next holder need not wait for the TTL. */
  async release(lease: Lease): Promise<void> {
    const l = this.held.get(lease.key);
    if (!l || l !== lease) return;
    this.held.delete(lease.key);
    if (!l.held) return;
    l.held = false;
    // A renewal racing this release would move the revision past the one we
    // delete at; the delete would then fail and the lease linger until its TTL,
    // keeping the user's next job waiting.
    await l.renewal;
    try {
      // Purge the key's entries up to our own revision, rather than delete: a delete
      // leaves a marker, and `create` over a marker costs three requests (a put that
      // fails, a get, a put) where over nothing it costs one. A newer holder's entry
      // (a higher revision) is left alone, as a delete at our revision would refuse.
      await this.jsm.streams.purge(`KV_${this.opts.bucket}`, {
        filter: `$KV.${this.opts.bucket}.${l.key}`,
        seq: l.revision + 1,
      });
    } catch {
      // NATS is away: the TTL ends it.
    }
  }

  /** Who holds `key` right now, if anyone (for inspection and tests). */
  async holder(key: string): Promise<string | null> {
    const e = await this.kv.get(key);
    if (e?.operation !== "PUT") return null;
    try {
      return (e.json() as { holder: string }).holder;
    } catch {
      return null;
    }
  }

  get count(): number {
    return this.held.size;
  }

  private async renewAll(): Promise<void> {
    if (this.renewing) return;
    this.renewing = true;
    try {
      const value = JSON.stringify({ holder: this.opts.instance, at: new Date().toISOString() });
      await Promise.all(
        [...this.held.values()].map((l) => {
          l.renewal = this.renew(l, value).finally(() => {
            l.renewal = undefined;
          });
          return l.renewal;
        }),
      );
    } finally {
      this.renewing = false;
    }
  }

  private async renew(l: HeldLease, value: string): Promise<void> {
    if (!l.held) return;
    if (Date.now() > l.validUntil) return this.lose(l, "expired before renewal (process paused?)");
    try {
      const started = Date.now();
      l.revision = await this.kv.update(l.key, value, l.revision);
      l.validUntil = started + this.opts.ttlMs;
    } catch (err) {
      if (isWrongLastSequence(err)) return this.lose(l, "taken by another holder");
      // NATS unreachable: keep trying until the local deadline passes.
      if (Date.now() > l.validUntil) this.lose(l, "could not renew before expiry");
    }
  }

  private lose(l: HeldLease, reason: string): void {
    if (!l.held) return;
    l.held = false;
    this.held.delete(l.key);
    this.opts.log.warn({ key: l.key, token: l.token, reason }, "lease lost");
    l.onLost();
  }

  /** Stops renewing and releases every lease still held. */
  async close(): Promise<void> {
    clearInterval(this.renewTimer);
    await Promise.all([...this.held.values()].map((l) => this.release(l)));
  }
}

function isWrongLastSequence(err: unknown): boolean {
  const e = err as { message?: string; api_error?: { err_code?: number } };
  return e?.api_error?.err_code === 10071 || /wrong last sequence|key exists/i.test(String(e?.message ?? ""));
}
