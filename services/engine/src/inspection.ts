import type { BatchCoordinatorSnapshot, UserAggregatorSnapshot } from "@agg/machines";

/** One instance's answer to the scatter-gather behind `agg.inspect`. */
export interface InstanceView {
  readonly instance: { readonly id: string; readonly startedAt: string; readonly actors: number };
  readonly actors: readonly ActorView[];
}

/** One live actor as `agg.inspect` shows it. */
export interface ActorView {
  readonly id: string;
  readonly machine: string;
  readonly state: string;
  readonly instance: string;
  readonly userId?: string;
  readonly batchId?: string;
  readonly context: Record<string, unknown>;
  /** The last events the actor processed, oldest first. */
  readonly lastEvents: readonly unknown[];
}

/** `{ processingJob: "aggregating" }` -> `"processingJob.aggregating"`. */
export function stateName(value: unknown): string {
  if (typeof value === "string") return value;
  if (value && typeof value === "object") {
    return Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => {
        const inner = stateName(v);
        return inner ? `${k}.${inner}` : k;
      })
      .join(",");
  }
  return "";
}

/** A compact, JSON-safe view of this instance's actors. */
export function describeActors(
  instance: string,
  startedAt: number,
  users: readonly { userId: string; snapshot: UserAggregatorSnapshot }[],
  batches: readonly { batchId: string; snapshot: BatchCoordinatorSnapshot }[],
  recentEvents: (actorId: string) => readonly unknown[] = () => [],
): InstanceView {
  const actors: ActorView[] = [];
  for (const { batchId, snapshot } of batches) {
    const c = snapshot.context;
    actors.push({
      id: `batch:${batchId}`,
      machine: "batchCoordinator",
      state: stateName(snapshot.value),
      instance,
      batchId,
      context: { users: c.covered.size, done: c.done, failed: c.failed, skipped: c.skipped },
      lastEvents: recentEvents(`batch:${batchId}`),
    });
  }
  for (const { userId, snapshot } of users) {
    const c = snapshot.context;
    actors.push({
      id: `user:${userId}`,
      machine: "userAggregator",
      state: stateName(snapshot.value),
      instance,
      userId,
      ...(c.currentJob ? { batchId: c.currentJob.batchId } : {}),
      context: {
        daysDone: c.daysDone,
        daysTotal: c.daysTotal,
        heartbeatsRead: c.heartbeatsRead,
        queued: c.queue.length,
        jobsFinished: c.jobsFinished,
        lastError: c.lastError,
      },
      lastEvents: recentEvents(`user:${userId}`),
    });
  }
  return {
    instance: { id: instance, startedAt: new Date(startedAt).toISOString(), actors: actors.length },
    actors,
  };
}
