import {
  type BatchCoordinatorSnapshot,
  type BatchStatus,
  batchCoordinatorMachine,
  type ReportedUser,
} from "@agg/machines";
import type { Logger } from "pino";
import { type Actor, createActor } from "xstate";
import type { BatchLedger } from "./batch-ledger";
import type { ActorInspection } from "./inspection-demand";

export interface CoordinatorsOptions {
  readonly ledger: BatchLedger;
  readonly deadlineMs: number;
  /** Publishes a batch event (`agg.batch.<batchId>`). */
  readonly publish: (batchId: string, event: Record<string, unknown>) => void;
  /** How often a coordinator re-reads its batch's outcomes from the ledger (lost reports, restarts). */
  readonly reconcileEveryMs: number;
  /** Minimum milliseconds between two progress events of one batch. */
  readonly progressEveryMs: number;
  readonly log: Logger;
  /** XState inspection of the coordinators while somebody watches (the inspector's event stream). */
  readonly inspection?: ActorInspection;
}

type Coordinator = Actor<typeof batchCoordinatorMachine>;

interface Entry {
  readonly actor: Coordinator;
  readonly onEnded: () => void;
  readonly reconcile: NodeJS.Timeout;
  lastProgressAt: number;
  progressTimer: NodeJS.Timeout | undefined;
}

/**
 * The batch coordinators this instance runs. A coordinator counts reports in
 * memory (its machine); the ledger in PostgreSQL is the durable truth that it
 * reconciles with, and the ledger's guarded `finish` decides which of possibly
 * several coordinators of one batch publishes its single final event.
 */
export class Coordinators {
  private readonly entries = new Map<string, Entry>();
  /** The coordinator machine with this instance's actions (the warm-up runs it too). */
  readonly machine;

  constructor(private readonly opts: CoordinatorsOptions) {
    this.machine = batchCoordinatorMachine.provide({
      actions: {
        publishProgress: (_, status: BatchStatus) => this.progress(status),
        publishFinalEvent: (_, status: BatchStatus) => {
          void this.finish(status);
        },
      },
    });
  }

  /** Starts coordinating a batch (a new one, or one adopted after a restart). Idempotent. */
  start(
    batchId: string,
    pending: readonly string[],
    reported: readonly ReportedUser[],
    startedAt = Date.now(),
    onEnded: () => void = () => undefined,
  ): void {
    if (this.entries.has(batchId)) return;
    const remainingMs = Math.max(0, startedAt + this.opts.deadlineMs - Date.now());
    const actor = createActor(this.machine, {
      id: `batch:${batchId}`,
      input: { batchId, userIds: pending, alreadyReported: reported, deadlineMs: remainingMs },
      ...this.opts.inspection?.createOptions,
    });
    const reconcile = setInterval(() => void this.reconcile(batchId), this.opts.reconcileEveryMs);
    reconcile.unref();
    const entry: Entry = { actor, onEnded, reconcile, lastProgressAt: 0, progressTimer: undefined };
    this.entries.set(batchId, entry);
    actor.subscribe({
      complete: () => this.forget(batchId),
      error: (err) => {
        this.opts.log.error({ err, batchId }, "coordinator crashed");
        this.forget(batchId);
      },
    });
    this.opts.inspection?.adopt(actor);
    actor.start();
  }

  /** A user's outcome arrived (over NATS, or from an actor of this instance). */
  /** Outcomes of one batch, as one report message carries them: one transition. */
  reportMany(batchId: string, reports: readonly ReportedUser[]): void {
    if (reports.length === 0) return;
    this.entries.get(batchId)?.actor.send({ type: "USERS_REPORTED", reports });
  }

  has(batchId: string): boolean {
    return this.entries.has(batchId);
  }

  snapshots(): { batchId: string; snapshot: BatchCoordinatorSnapshot }[] {
    return [...this.entries.entries()].map(([batchId, e]) => ({ batchId, snapshot: e.actor.getSnapshot() }));
  }

  /** Stops one coordinator without ending its batch (its lease went elsewhere). */
  stop(batchId: string): void {
    const e = this.entries.get(batchId);
    if (!e) return;
    this.forget(batchId);
    e.actor.stop();
  }

  /** Stops every coordinator without ending its batch: another instance (or a restart) adopts it. */
  stopAll(): void {
    for (const batchId of [...this.entries.keys()]) this.stop(batchId);
  }

  private forget(batchId: string): void {
    const e = this.entries.get(batchId);
    if (!e) return;
    clearInterval(e.reconcile);
    if (e.progressTimer) clearTimeout(e.progressTimer);
    this.entries.delete(batchId);
    this.opts.inspection?.release(e.actor);
    e.onEnded();
  }

  /** Progress events, at most one per `progressEveryMs`, the latest always sent. */
  private progress(status: BatchStatus): void {
    const e = this.entries.get(status.batchId);
    if (!e) return;
    const wait = e.lastProgressAt + this.opts.progressEveryMs - Date.now();
    if (wait <= 0) {
      e.lastProgressAt = Date.now();
      this.opts.publish(status.batchId, { type: "progress", ...status });
      return;
    }
    if (e.progressTimer) return;
    e.progressTimer = setTimeout(() => {
      e.progressTimer = undefined;
      const snapshot = e.actor.getSnapshot();
      if (snapshot.status !== "active") return;
      e.lastProgressAt = Date.now();
      const c = snapshot.context;
      this.opts.publish(status.batchId, {
        type: "progress",
        batchId: status.batchId,
        state: "running",
        users: c.covered.size,
        done: c.done,
        failed: c.failed,
        skipped: c.skipped,
      });
    }, wait);
  }

  /** Entry of the coordinator's final state: end the batch in the ledger, and publish if we won. */
  private async finish(status: BatchStatus): Promise<void> {
    const log = this.opts.log.child({ batchId: status.batchId });
    try {
      // The ledger decides completed vs failed from its own counts.
      const final = await this.opts.ledger.finish(
        status.batchId,
        status.state === "cancelled" ? "cancelled" : "completed",
        "deadline",
      );
      if (!final) {
        log.debug("batch already ended elsewhere; no final event from here");
        return;
      }
      this.opts.publish(status.batchId, { type: "final", ...final });
      await this.opts.ledger.markFinalPublished(status.batchId);
      // `final` carries the batchId, which the child logger already binds.
      const { batchId: _batchId, ...counts } = final;
      log.info(counts, "batch finished");
    } catch (err) {
      // The ledger still says running: a reconcile or restart will end it again.
      log.error({ err }, "could not record the end of the batch");
    }
  }

  /** Re-reads outcomes from the ledger; the machine ignores what it already counted. */
  private async reconcile(batchId: string): Promise<void> {
    const e = this.entries.get(batchId);
    if (!e) return;
    try {
      for (const r of await this.opts.ledger.reported(batchId)) e.actor.send({ type: "USER_REPORTED", ...r });
    } catch (err) {
      this.opts.log.warn({ err, batchId }, "reconcile failed");
    }
  }
}
