import { formatStateValue } from "@agg/protocol";
import type { InspectionEvent } from "xstate";

/**
 * The live inspection stream of one instance (issue 5): XState's inspection
 * events reduced to a few fields each, batched into one NATS message per
 * flush, rate-limited so the aggregation never pays more than a few percent
 * for being watched.
 *
 * Wire format, on `<prefix>.x.inspect.events.<instance>` (see {@link InspectionBatch}):
 *
 * ```json
 * { "instance": "web-1", "seq": 7, "sentAt": 1767225600123, "dropped": 0,
 *   "events": [
 *     { "type": "actor.updated", "at": 1767225600101, "event": "DAY_PERSISTED",
 *       "actor": { "id": "user:alice", "machine": "userAggregator", "state": "processingJob.aggregating",
 *                  "instance": "web-1", "userId": "alice", "batchId": "b1", "counts": { "daysDone": 3 } } },
 *     { "type": "actor.stopped", "at": 1767225600120, "id": "user:bob", "instance": "web-1",
 *       "machine": "userAggregator", "state": "closed", "status": "done", "event": "xstate.after..." }
 *   ] }
 * ```
 *
 * Each record is a valid `ActorEvent` of `@agg/protocol`.
 */

/** An actor of a machine changed (or received an event and stayed where it was). */
export interface ActorUpdatedRecord {
  readonly type: "actor.updated";
  /** Epoch milliseconds. */
  readonly at: number;
  /** Type of the event the actor processed (`JOB_RECEIVED`, `xstate.done.actor.planJob`, ...). */
  readonly event: string;
  readonly actor: {
    readonly id: string;
    readonly machine: string;
    readonly state: string;
    readonly instance: string;
    readonly userId?: string;
    readonly batchId?: string;
    /** The context's numbers, and the sizes of its collections: never the collections themselves. */
    readonly counts: Record<string, number>;
  };
}

/** An actor reached a final state, was stopped or failed; it is gone from this instance. */
export interface ActorStoppedRecord {
  readonly type: "actor.stopped";
  readonly at: number;
  readonly id: string;
  readonly instance: string;
  readonly machine: string;
  readonly state: string;
  readonly status: "done" | "stopped" | "error";
  readonly event: string;
}

/** One entry of an {@link InspectionBatch}. */
export type InspectionRecord = ActorUpdatedRecord | ActorStoppedRecord;

/** The payload of one message on `<prefix>.x.inspect.events.<instance>`. */
export interface InspectionBatch {
  readonly instance: string;
  /** Increases by one per message, so a reader can tell it missed some. */
  readonly seq: number;
  readonly sentAt: number;
  /** Records dropped by the rate limit since the publisher started (cumulative). */
  readonly dropped: number;
  readonly events: readonly InspectionRecord[];
}

/** One entry of an actor's recent history, kept in memory for `agg.inspect` ("last events it received"). */
export interface RecentEvent {
  readonly at: number;
  readonly event: string;
  readonly state: string;
}

/** Where raw XState inspection events are also sent (Stately's inspector). */
export interface InspectionForwarder {
  next(event: InspectionEvent): void;
  stop(): void;
}

/** Options of {@link createInspectionPublisher}. */
export interface InspectionPublisherOptions {
  /** Publishes one message (`nc.publish`); may throw, which is counted, never propagated. */
  readonly publish: (subject: string, bytes: Uint8Array) => void;
  /** `subjects.inspectEvents(instance)`. */
  readonly subject: string;
  readonly instance: string;
  /** Records published per second at most; more are dropped and counted. Default 2 000. */
  readonly maxEventsPerSecond?: number;
  /** Milliseconds between two messages. Default 250. */
  readonly flushEveryMs?: number;
  /** Entries kept per live actor for {@link InspectionPublisher.recentEvents}. Default 10. */
  readonly recentPerActor?: number;
  /**
   * `AGG_STATELY_INSPECT`: a WebSocket URL of Stately's inspector (for example
   * `ws://localhost:8080` of `@statelyai/inspect/server`). Unreachable is fine:
   * events are then simply not delivered there.
   */
  readonly statelyInspectUrl?: string | undefined;
  /** Builds the forwarder for {@link statelyInspectUrl}; default {@link connectStatelyInspector}. */
  readonly createForwarder?: (url: string) => Promise<InspectionForwarder>;
  /** Told about what went wrong (a failed publish, Stately unavailable), at most once per kind. */
  readonly onError?: (what: string, error: unknown) => void;
  /** The clock (tests inject one). Default `Date.now`. */
  readonly now?: () => number;
}

/** What {@link createInspectionPublisher} returns. */
export interface InspectionPublisher {
  /** Pass as `createActor(machine, { inspect })`; every actor of that system is then watched. */
  readonly inspect: (event: InspectionEvent) => void;
  /** The last few events a live actor processed, oldest first (empty for unknown actors). */
  recentEvents(actorId: string): readonly RecentEvent[];
  /** Publishes what is pending now (also done by the timer). */
  flush(): void;
  /** Publishes what is pending, stops the timer and the Stately forwarder. Idempotent. */
  stop(): void;
  /** Records dropped by the rate limit so far. */
  readonly dropped: number;
  /** Records published so far. */
  readonly published: number;
}

interface MachineSnapshotLike {
  readonly status: string;
  readonly value: unknown;
  readonly context: unknown;
  readonly machine?: { readonly id?: string };
}

const encoder = new TextEncoder();

/**
 * Taps XState's inspection API and publishes a compact, batched, rate-limited
 * stream of actor changes. Only machine actors are reported (the promise and
 * callback actors they invoke show up as the parent's `xstate.done.actor.*`
 * events); contexts are reduced to their numbers.
 *
 * @example
 * ```ts
 * const inspection = createInspectionPublisher({
 *   publish: (subject, bytes) => nc.publish(subject, bytes),
 *   subject: subjects.inspectEvents(config.instance),
 *   instance: config.instance,
 *   statelyInspectUrl: process.env.AGG_STATELY_INSPECT,
 * });
 * const actor = createActor(machine, { id: "user:alice", input, inspect: inspection.inspect });
 * // on shutdown:
 * inspection.stop();
 * ```
 */
export function createInspectionPublisher(options: InspectionPublisherOptions): InspectionPublisher {
  const { publish, subject, instance } = options;
  const maxPerSecond = Math.max(1, options.maxEventsPerSecond ?? 2_000);
  const flushEveryMs = Math.max(10, options.flushEveryMs ?? 250);
  const recentPerActor = Math.max(0, options.recentPerActor ?? 10);
  const now = options.now ?? Date.now;
  // Records waiting for the next flush; bounded even if the timer is starved.
  const maxPending = Math.max(maxPerSecond * 2, 100);
  let pending: InspectionRecord[] = [];
  let windowStart = 0;
  let windowCount = 0;
  let dropped = 0;
  let published = 0;
  let seq = 0;
  let stopped = false;
  const recent = new Map<string, RecentEvent[]>();
  const reported = new Set<string>();
  const report = (what: string, error: unknown) => {
    if (reported.has(what)) return;
    reported.add(what);
    try {
      options.onError?.(what, error);
    } catch {
      // A broken logger must not break the actors.
    }
  };

  let forwarder: InspectionForwarder | undefined;
  if (options.statelyInspectUrl) {
    const create = options.createForwarder ?? connectStatelyInspector;
    const url = options.statelyInspectUrl;
    Promise.resolve()
      .then(() => create(url))
      .then(
        (f) => {
          if (stopped) safely(() => f.stop());
          else forwarder = f;
        },
        (error) => report("stately inspector unavailable", error),
      );
  }

  const admit = (at: number): boolean => {
    if (at - windowStart >= 1_000) {
      windowStart = at;
      windowCount = 0;
    }
    if (windowCount >= maxPerSecond || pending.length >= maxPending) return false;
    windowCount++;
    return true;
  };

  const remember = (id: string, entry: RecentEvent) => {
    if (recentPerActor === 0) return;
    let list = recent.get(id);
    if (!list) {
      list = [];
      recent.set(id, list);
    }
    list.push(entry);
    if (list.length > recentPerActor) list.shift();
  };

  const inspect = (event: InspectionEvent): void => {
    if (forwarder) {
      try {
        forwarder.next(event);
      } catch (error) {
        report("stately inspector failed", error);
      }
    }
    if (event.type !== "@xstate.snapshot" || stopped) return;
    const snapshot = event.snapshot as unknown as MachineSnapshotLike;
    const machine = snapshot.machine?.id;
    if (machine === undefined) return;
    // The id given to `createActor` (`user:alice`, `batch:b1`); the type only promises a session id.
    const id = (event.actorRef as { id?: string }).id ?? event.actorRef.sessionId;
    const at = now();
    const eventType = event.event.type;
    const state = stateOf(snapshot.value);
    if (snapshot.status !== "active") {
      recent.delete(id);
      // Never rate-limited: one per actor's life, and the inspector relies on it to drop the actor.
      if (pending.length < maxPending) {
        const status =
          snapshot.status === "done" || snapshot.status === "error" ? snapshot.status : "stopped";
        pending.push({ type: "actor.stopped", at, id, instance, machine, state, status, event: eventType });
      } else dropped++;
      return;
    }
    remember(id, { at, event: eventType, state });
    if (!admit(at)) {
      dropped++;
      return;
    }
    pending.push({
      type: "actor.updated",
      at,
      event: eventType,
      actor: {
        id,
        machine,
        state,
        instance,
        ...identify(snapshot.context),
        counts: countsOf(snapshot.context),
      },
    });
  };

  const flush = () => {
    if (pending.length === 0) return;
    const events = pending;
    pending = [];
    const batch: InspectionBatch = { instance, seq: ++seq, sentAt: now(), dropped, events };
    try {
      publish(subject, encoder.encode(JSON.stringify(batch)));
      published += events.length;
    } catch (error) {
      dropped += events.length;
      report("publishing inspection events failed", error);
    }
  };

  const timer = setInterval(flush, flushEveryMs);
  timer.unref?.();

  return {
    inspect,
    recentEvents: (actorId) => recent.get(actorId)?.slice() ?? [],
    flush,
    stop: () => {
      if (stopped) return;
      clearInterval(timer);
      flush();
      stopped = true;
      recent.clear();
      if (forwarder) safely(() => forwarder?.stop());
      forwarder = undefined;
    },
    get dropped() {
      return dropped;
    },
    get published() {
      return published;
    },
  };
}

/**
 * Forwards XState inspection events to Stately's inspector over a WebSocket
 * (`@statelyai/inspect`'s `createWebSocketInspector`), contexts reduced to
 * their numbers. The module is loaded on demand, so an engine without it
 * installed only loses this feature.
 *
 * @throws when `@statelyai/inspect` cannot be loaded or refuses the URL.
 */
export async function connectStatelyInspector(url: string): Promise<InspectionForwarder> {
  // A variable specifier: the dependency is optional and only loaded when asked for.
  const specifier = "@statelyai/inspect";
  const stately = (await import(specifier)) as {
    createWebSocketInspector(options: {
      url: string;
      sanitizeContext?: (context: unknown) => unknown;
      maxDeferredEvents?: number;
    }): { inspect: { next?: (event: InspectionEvent) => void }; stop(): void };
  };
  const inspector = stately.createWebSocketInspector({
    url,
    maxDeferredEvents: 100,
    sanitizeContext: (context) => countsOf(context),
  });
  return {
    next: (event) => inspector.inspect.next?.(event),
    stop: () => inspector.stop(),
  };
}

const stateNames = new WeakMap<object, string>();

/** The state value as one string; object values are cached (a snapshot reuses them until the state changes). */
function stateOf(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === null || typeof value !== "object") return "";
  let name = stateNames.get(value);
  if (name === undefined) {
    name = formatStateValue(value);
    stateNames.set(value, name);
  }
  return name;
}

/** `userId` and `batchId` where the context has them (a user's current job names its batch). */
function identify(context: unknown): { userId?: string; batchId?: string } {
  if (context === null || typeof context !== "object") return {};
  const c = context as { userId?: unknown; batchId?: unknown; currentJob?: { batchId?: unknown } | null };
  const batchId = typeof c.batchId === "string" ? c.batchId : c.currentJob?.batchId;
  return {
    ...(typeof c.userId === "string" ? { userId: c.userId } : {}),
    ...(typeof batchId === "string" ? { batchId } : {}),
  };
}

/** The context's top-level numbers, and the sizes of its collections. */
function countsOf(context: unknown): Record<string, number> {
  const counts: Record<string, number> = {};
  if (context === null || typeof context !== "object") return counts;
  for (const key in context) {
    const value = (context as Record<string, unknown>)[key];
    if (typeof value === "number") counts[key] = value;
    else if (Array.isArray(value)) counts[key] = value.length;
    else if (
      value !== null &&
      typeof value === "object" &&
      typeof (value as { size?: unknown }).size === "number"
    )
      counts[key] = (value as { size: number }).size;
  }
  return counts;
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // Shutting down a forwarder must never fail a shutdown.
  }
}
