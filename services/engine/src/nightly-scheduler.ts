import { dueZoneRuns, resolveTimeZone, type ZoneRun } from "@agg/core";
import type { Database } from "@agg/store";
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Lease, Leases } from "./leases";

/** The KV key of the schedule's leader lease: one scheduler per cluster. */
export const SCHEDULER_LEASE_KEY = "leader.schedule";

export interface NightlySchedulerOptions {
  readonly db: Kysely<Database>;
  readonly leases: Leases;
  /** Accepts a batch exactly as `agg.request` would (durable before it returns). */
  readonly acceptBatch: (request: { users: string[]; mode: "missing" }) => Promise<{ batchId: string }>;
  /** How long after a user's local midnight their run starts. */
  readonly offsetMs: number;
  readonly tickMs: number;
  readonly now: () => number;
  readonly log: Logger;
}

/**
 * One nightly schedule per cluster: each user's `missing` run starts shortly
 * after *their own* local midnight (one batch per zone), which beats one global
 * cron in the server's zone. Every instance runs this loop, but only the holder
 * of the leader lease acts; if the leader dies its lease expires and another
 * instance takes over within a lease TTL. `agg_schedule_runs` records each
 * (zone, day) run under a primary key, so even two overlapping leaders start a
 * zone's run once.
 */
export class NightlyScheduler {
  private lease: Lease | null = null;
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;

  constructor(private readonly opts: NightlySchedulerOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.opts.tickMs);
    this.timer.unref();
    void this.tick();
  }

  get isLeader(): boolean {
    return this.lease?.held === true;
  }

  /** One step: become leader if nobody is, then start the zone runs that are due. */
  async tick(): Promise<ZoneRun[]> {
    if (this.ticking) return [];
    this.ticking = true;
    try {
      if (!this.isLeader) {
        this.lease = await this.opts.leases.tryAcquire(SCHEDULER_LEASE_KEY, () => {
          this.opts.log.warn("lost the schedule's leader lease");
        });
        if (this.lease) this.opts.log.info({ token: this.lease.token }, "leading the nightly schedule");
      }
      if (!this.isLeader) return [];
      return await this.runDue();
    } catch (err) {
      this.opts.log.warn({ err }, "schedule tick failed; retrying next tick");
      return [];
    } finally {
      this.ticking = false;
    }
  }

  private async runDue(): Promise<ZoneRun[]> {
    const { db, log } = this.opts;
    const now = this.opts.now();
    const users = await db.selectFrom("users").select(["id", "location"]).execute();
    const byZone = new Map<string, string[]>();
    for (const u of users) {
      const zone = resolveTimeZone(u.location);
      const list = byZone.get(zone);
      if (list) list.push(u.id);
      else byZone.set(zone, [u.id]);
    }
    const done = await db.selectFrom("agg_schedule_runs").select(["time_zone", "day"]).execute();
    const ran = new Set(done.map((r) => `${r.time_zone}|${r.day}`));
    const due = dueZoneRuns(byZone.keys(), now, this.opts.offsetMs, (zone, day) => ran.has(`${zone}|${day}`));
    const started: ZoneRun[] = [];
    for (const run of due) {
      if (!this.isLeader) break;
      const claimed = await db
        .insertInto("agg_schedule_runs")
        .values({ time_zone: run.timeZone, day: run.day, batch_id: null })
        .onConflict((oc) => oc.doNothing())
        .returning("day")
        .executeTakeFirst();
      if (!claimed) continue;
      try {
        const { batchId } = await this.opts.acceptBatch({
          users: byZone.get(run.timeZone)!,
          mode: "missing",
        });
        await db
          .updateTable("agg_schedule_runs")
          .set({ batch_id: batchId })
          .where("time_zone", "=", run.timeZone)
          .where("day", "=", run.day)
          .execute();
        log.info(
          { timeZone: run.timeZone, day: run.day, batchId, users: byZone.get(run.timeZone)!.length },
          "nightly run started",
        );
        started.push(run);
      } catch (err) {
        // Unclaim, so the next tick tries again.
        await db
          .deleteFrom("agg_schedule_runs")
          .where("time_zone", "=", run.timeZone)
          .where("day", "=", run.day)
          .execute();
        throw err;
      }
    }
    return started;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    if (this.lease) await this.opts.leases.release(this.lease);
    this.lease = null;
  }
}
