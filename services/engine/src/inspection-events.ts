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
 *     { "type": "actor.updated", "at": 1767225600101, "event": "DAY_PERSISTED", "coalesced": 3,
 *       "actor": { "id": "user:alice", "machine": "userAggregator", "state": "processingJob.aggregating",
 *                  "instance": "web-1", "userId": "alice", "batchId": "b1", "counts": { "daysDone": 3 } } },
 *     { "type": "actor.stopped", "at": 1767225600120, "id": "user:bob", "instance": "web-1",
 *       "machine": "userAggregator", "state": "closed", "status": "done", "event": "xstate.after..." }
 *   ] }
 * ```
 *
 * Each record is a valid `ActorEvent` of `@agg/protocol`. Every change of an
 * actor's state has a record of its own; events that leave it in its state
 * fold into one record per flush (`coalesced`: how many).
 */

/** An actor of a machine changed (or received an event and stayed where it was). */
export interface ActorUpdatedRecord {
  readonly type: "actor.updated";
  /** Epoch milliseconds. */
  readonly at: number;
  /** Type of the event the actor processed (`JOB_RECEIVED`, `xstate.done.actor.planJob`, ...). */
  readonly event: string;
  /**
   * Present when the record stands for several events that left the actor in
   * the same state within one flush interval: how many; `at`, `event` and
   * `counts` are those of the last of them.
   */
  readonly coalesced?: number;
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
  /**
   * Drops what it knows of every actor (state, recent events): called when
   * inspection is detached, after which it would never see those actors stop.
   */
  forgetActors(): void;
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

/**
 * A record waiting for the next flush. It holds the snapshot's context itself
 * (immutable in XState; not the whole snapshot, which keeps more garbage
 * alive until the flush), so the context is reduced to counts once per
 * record at flush time, not once per inspection event.
 */
interface PendingUpdate {
  /** The flush interval it belongs to; only a record of the current one takes more events. */
  readonly interval: number;
  at: number;
  event: string;
  context: unknown;
  /** Events folded into this record (1: only its own). */
  coalesced: number;
  readonly id: string;
  readonly machine: string;
  readonly state: string;
}

/** What the publisher knows of one live machine actor. */
interface ActorTrack {
  /** State after the last event, whether or not it was published. */
  state: string;
  /** The record of this flush interval that later events of the same state fold into. */
  open: PendingUpdate | undefined;
  /** Ring of recent events, oldest first. */
  readonly recent: RecentEvent[];
}

const encoder = new TextEncoder();

/**
 * Taps XState's inspection API and publishes a compact, batched, rate-limited
 * stream of actor changes. Only machine actors are reported (the promise and
 * callback actors they invoke show up as the parent's `xstate.done.actor.*`
 * events); contexts are reduced to their numbers.
 *
 * Cheap per event, the rest at flush: an inspection event costs a map lookup,
 * the state's name and an entry in the actor's ring of recent events. Events
 * that leave an actor in the state it was already in (a `DAY_PERSISTED` while
 * aggregating, a coordinator's `USER_REPORTED`) fold into one record per actor
 * and flush, carrying the latest counts and `coalesced: n`; every change of
 * state still gets its own record, so the inspector's timeline shows each
 * transition with the event that caused it. `recentEvents` keeps every event.
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
  let pending: (PendingUpdate | ActorStoppedRecord)[] = [];
  let windowStart = 0;
  let windowCount = 0;
  let dropped = 0;
  let published = 0;
  let seq = 0;
  let interval = 0;
  let stopped = false;
  const actors = new Map<string, ActorTrack>();
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

  const inspect = (event: InspectionEvent): void => {
    if (forwarder) {
      try {
        forwarder.next(event);
      } catch (error) {
        report("stately inspector failed", error);
      }
    }
    // Microsteps, actions, events and actor creations: the snapshot that follows says it all.
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
      actors.delete(id);
      // Never rate-limited: one per actor's life, and the inspector relies on it to drop the actor.
      if (pending.length < maxPending) {
        const status =
          snapshot.status === "done" || snapshot.status === "error" ? snapshot.status : "stopped";
        pending.push({ type: "actor.stopped", at, id, instance, machine, state, status, event: eventType });
      } else dropped++;
      return;
    }
    let track = actors.get(id);
    if (!track) {
      track = { state: "", open: undefined, recent: [] };
      actors.set(id, track);
    }
    if (recentPerActor > 0) {
      track.recent.push({ at, event: eventType, state });
      if (track.recent.length > recentPerActor) track.recent.shift();
    }
    const open = track.open;
    if (open !== undefined && open.interval === interval && open.state === state) {
      // Same state as the last record of this interval: fold in, keep the latest counts.
      open.at = at;
      open.event = eventType;
      open.context = snapshot.context;
      open.coalesced++;
      return;
    }
    const sameState = track.state === state;
    track.state = state;
    if (!admit(at)) {
      track.open = undefined;
      dropped++;
      return;
    }
    const update: PendingUpdate = {
      interval,
      at,
      event: eventType,
      context: snapshot.context,
      coalesced: 1,
      id,
      machine,
      state,
    };
    pending.push(update);
    // A record that entered a state stays as it is (its event is what caused the
    // transition); later events in that state fold into a record of their own.
    track.open = sameState ? update : undefined;
  };

  const toRecord = (p: PendingUpdate | ActorStoppedRecord): InspectionRecord => {
    if ("type" in p) return p;
    const context = p.context;
    return {
      type: "actor.updated",
      at: p.at,
      event: p.event,
      ...(p.coalesced > 1 ? { coalesced: p.coalesced } : {}),
      actor: {
        id: p.id,
        machine: p.machine,
        state: p.state,
        instance,
        ...identify(context),
        counts: countsOf(context),
      },
    };
  };

  const flush = () => {
    // Whatever arrives from now on starts new records.
    interval++;
    if (pending.length === 0) return;
    const taken = pending;
    pending = [];
    const events = taken.map(toRecord);
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
    recentEvents: (actorId) => actors.get(actorId)?.recent.slice() ?? [],
    flush,
    forgetActors: () => actors.clear(),
    stop: () => {
      if (stopped) return;
      clearInterval(timer);
      flush();
      stopped = true;
      actors.clear();
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

/**
 * The state value as one string. Not cached: XState builds a new value object
 * for every snapshot of a nested state, so a cache keyed on it only grows (a
 * `WeakMap` here cost more than formatting, mostly in the garbage collector).
 */
function stateOf(value: unknown): string {
  return typeof value === "string" ? value : formatStateValue(value);
}

/** `userId` and `batchId` where the context has them (a user's current job names its batch). */
function identify(context: unknown): { userId?: string; batchId?: string } {
  const ids: { userId?: string; batchId?: string } = {};
  if (context === null || typeof context !== "object") return ids;
  const c = context as { userId?: unknown; batchId?: unknown; currentJob?: { batchId?: unknown } | null };
  const batchId = typeof c.batchId === "string" ? c.batchId : c.currentJob?.batchId;
  if (typeof c.userId === "string") ids.userId = c.userId;
  if (typeof batchId === "string") ids.batchId = batchId;
  return ids;
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
