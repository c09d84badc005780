import {
  createSubjects,
  type ErrorReply,
  type InspectReply,
  InspectReplySchema,
  isErrorReply,
  type Subjects,
} from "@agg/protocol";
import {
  type NatsConnection,
  NoRespondersError,
  RequestError,
  type Subscription,
  TimeoutError,
} from "@nats-io/nats-core";
import { actorIdOf, decodeInspectionMessage, instanceOf, type TimedActorEvent } from "./inspection-message";
import { type TimelineEntry, TimelineStore } from "./timeline-store";

/** `agg.inspect` with no engine to answer: what `/api/actors` returns then. */
export const NO_INSTANCES: InspectReply = Object.freeze({ instances: [], actors: [] }) as InspectReply;

/** How `agg.inspect` went. */
export type InspectOutcome =
  /**
   * An engine answered (`via: "agg.inspect"`; `reply` is its object exactly as received), or,
   * `agg.inspect` having timed out, the instances answered the inspector's own gather (`via: "direct"`).
   */
  | {
      readonly kind: "ok";
      readonly via: "agg.inspect" | "direct";
      readonly reply: InspectReply;
      readonly tookMs: number;
    }
  /** Nobody answered (no engine on this prefix, or none in time): {@link NO_INSTANCES}. */
  | {
      readonly kind: "none";
      readonly reason: "no-responders" | "timeout";
      readonly reply: InspectReply;
      readonly tookMs: number;
    }
  /** An engine answered with an error, or something unusable; `status` is the HTTP status to pass on. */
  | {
      readonly kind: "error";
      readonly status: 502 | 503;
      readonly body: ErrorReply;
      readonly tookMs: number;
    };

/** Inspection events of one instance, as pushed to the page. */
export interface InspectionDelivery {
  readonly instance: string | undefined;
  readonly events: readonly TimedActorEvent[];
}

/** Counters and health shown in the page's footer. */
export interface InspectorStats {
  readonly at: number;
  readonly prefix: string;
  /** The NATS connection as last reported. */
  readonly nats: "connected" | "reconnecting" | "disconnected" | "closed";
  readonly inspection: {
    /** Messages received on `<prefix>.x.inspect.events.*`. */
    readonly messages: number;
    /** Valid records among them. */
    readonly events: number;
    /** Records or whole messages left out because they were malformed. */
    readonly malformed: number;
    /** Records the instances' rate limits dropped (sum of their cumulative counters). */
    readonly droppedAtSource: number;
  };
  /** The last `agg.inspect` round trip. */
  readonly lastInspect:
    | {
        readonly at: number;
        readonly tookMs: number;
        /** `direct`: `agg.inspect` timed out twice, the instances were asked directly. */
        readonly outcome: "ok" | "direct" | "no-responders" | "timeout" | "error";
        readonly message?: string;
      }
    | undefined;
  /** Instances that answered recently but not the last time. */
  readonly silentInstances: readonly { readonly id: string; readonly lastSeenAt: number }[];
}

/** What a page connection listens to. */
export interface ClusterListener {
  snapshot(reply: InspectReply): void;
  inspection(delivery: InspectionDelivery): void;
  stats(stats: InspectorStats): void;
}

/** Options of {@link ClusterWatch}. */
export interface ClusterWatchOptions {
  readonly nc: NatsConnection;
  readonly prefix: string;
  /** Milliseconds between two snapshots while someone listens. Default 500. */
  readonly refreshMs?: number;
  /** How long one `agg.inspect` may take (it is asked twice before the inspector gathers itself). Default 1 500. */
  readonly inspectTimeoutMs?: number;
  /** How long the inspector's own gather waits for instances. Default 500. */
  readonly gatherMs?: number;
  /** How long an instance that stopped answering is still listed as silent. Default 15 000. */
  readonly silentForgetMs?: number;
  readonly now?: () => number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The inspector's view of the cluster over NATS: `agg.inspect` on demand and,
 * while a page listens, every `refreshMs`; the instances' inspection streams;
 * a bounded history per actor built from both.
 */
export class ClusterWatch {
  readonly subjects: Subjects;
  readonly timeline = new TimelineStore();
  private readonly nc: NatsConnection;
  private readonly refreshMs: number;
  private readonly inspectTimeoutMs: number;
  private readonly gatherMs: number;
  private readonly silentForgetMs: number;
  private readonly now: () => number;
  private readonly listeners = new Set<ClusterListener>();
  private subscription: Subscription | undefined;
  private poller: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private requested = 0;
  private delivered = 0;
  private natsState: InspectorStats["nats"] = "connected";
  private counters = { messages: 0, events: 0, malformed: 0 };
  private readonly droppedAtSource = new Map<string, number>();
  private readonly lastSeen = new Map<string, number>();
  private lastInspect: InspectorStats["lastInspect"];
  private latestReply: InspectReply | undefined;
  /** When each instance's inspection stream last delivered an event. */
  private readonly streaming = new Map<string, number>();
  /** Actor states of the last snapshot, to notice changes the event stream did not tell. */
  private previous = new Map<string, { instance: string; id: string; state: string }>();
  private stopped = false;

  constructor(options: ClusterWatchOptions) {
    this.nc = options.nc;
    this.subjects = createSubjects(options.prefix);
    this.refreshMs = options.refreshMs ?? 500;
    this.inspectTimeoutMs = options.inspectTimeoutMs ?? 1_500;
    this.gatherMs = options.gatherMs ?? 500;
    this.silentForgetMs = options.silentForgetMs ?? 15_000;
    this.now = options.now ?? Date.now;
  }

  /** Subscribes to the inspection streams and follows the connection's health. */
  start(): void {
    this.subscription = this.nc.subscribe(this.subjects.inspectEventsWildcard, {
      callback: (err, msg) => {
        if (err) return;
        this.onInspectionMessage(msg.data);
      },
    });
    void (async () => {
      for await (const status of this.nc.status()) {
        if (status.type === "disconnect") this.natsState = "disconnected";
        else if (status.type === "reconnecting") this.natsState = "reconnecting";
        else if (status.type === "reconnect") this.natsState = "connected";
        else if (status.type === "close") this.natsState = "closed";
      }
    })().catch(() => undefined);
  }

  /** Stops polling and listening. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.poller);
    this.poller = undefined;
    this.subscription?.unsubscribe();
    this.listeners.clear();
  }

  /**
   * The cluster's actors: `agg.inspect`, asked again once when it times out
   * (the request went to one engine of the queue group, which may be the hung
   * one), then gathered from the instances directly. Nobody answering is not
   * an error: it is a cluster with no instances.
   */
  async inspect(): Promise<InspectOutcome> {
    const started = this.now();
    let outcome = await this.askEngine(started);
    if (outcome.kind === "none" && outcome.reason === "timeout") outcome = await this.askEngine(started);
    if (outcome.kind === "none" && outcome.reason === "timeout") {
      const direct = await this.gatherDirectly();
      if (direct.instances.length > 0)
        outcome = { kind: "ok", via: "direct", reply: direct, tookMs: this.now() - started };
    }
    return this.settle(started, outcome);
  }

  /** One `agg.inspect` request. */
  private async askEngine(started: number): Promise<InspectOutcome> {
    const took = () => this.now() - started;
    let body: unknown;
    try {
      const msg = await this.nc.request(this.subjects.inspect, encoder.encode("{}"), {
        timeout: this.inspectTimeoutMs,
      });
      body = JSON.parse(decoder.decode(msg.data));
    } catch (err) {
      if (isNoResponders(err))
        return { kind: "none", reason: "no-responders", reply: NO_INSTANCES, tookMs: took() };
      if (err instanceof TimeoutError || (err instanceof Error && err.cause instanceof TimeoutError))
        return { kind: "none", reason: "timeout", reply: NO_INSTANCES, tookMs: took() };
      if (err instanceof SyntaxError) return badGateway("the engine's agg.inspect reply is not JSON", took());
      const message = err instanceof Error ? err.message : String(err);
      return {
        kind: "error",
        status: 503,
        body: { error: { code: "UNAVAILABLE", message: `agg.inspect failed: ${message}` } },
        tookMs: took(),
      };
    }
    if (isErrorReply(body)) return { kind: "error", status: 502, body, tookMs: took() };
    if (!InspectReplySchema.safeParse(body).success)
      return badGateway("the engine's agg.inspect reply has the wrong shape", took());
    return { kind: "ok", via: "agg.inspect", reply: body as InspectReply, tookMs: took() };
  }

  /**
   * The scatter-gather `agg.inspect` does, done here: every instance that
   * answers `<prefix>.x.inspect.instance` within the deadline, malformed
   * answers left out.
   */
  private async gatherDirectly(): Promise<InspectReply> {
    const instances: InspectReply["instances"] = [];
    const actors: InspectReply["actors"] = [];
    try {
      const replies = await this.nc.requestMany(this.subjects.inspectInstance, encoder.encode("{}"), {
        maxWait: this.gatherMs,
      });
      for await (const r of replies) {
        try {
          const view = JSON.parse(decoder.decode(r.data)) as {
            instance?: { id?: unknown };
            actors?: unknown;
          };
          const checked = InspectReplySchema.safeParse({ instances: [view.instance], actors: view.actors });
          if (!checked.success) continue;
          instances.push({ ...(view.instance as { id: string }), answered: true });
          actors.push(...(view.actors as InspectReply["actors"]));
        } catch {
          // not JSON: left out
        }
      }
    } catch {
      // no responders, or the connection went away: nothing gathered
    }
    return { instances, actors };
  }

  /**
   * Registers a page connection: it gets the latest snapshot at once (when
   * there is one), then snapshots, inspection events and stats as they come.
   * Polling runs while at least one listener is registered.
   *
   * @returns a function that unregisters it.
   */
  listen(listener: ClusterListener): () => void {
    this.listeners.add(listener);
    if (this.latestReply) {
      listener.snapshot(this.latestReply);
      listener.stats(this.stats());
    }
    if (!this.poller && !this.stopped) {
      this.poll();
      this.poller = setInterval(() => this.poll(), this.refreshMs);
      this.poller.unref();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) {
        clearInterval(this.poller);
        this.poller = undefined;
      }
    };
  }

  /** The history of one actor, oldest first. */
  history(instance: string, actorId: string): TimelineEntry[] {
    return this.timeline.get(instance, actorId);
  }

  stats(): InspectorStats {
    const now = this.now();
    const silentInstances: { id: string; lastSeenAt: number }[] = [];
    const current = new Set(this.latestReply?.instances.map((i) => i.id) ?? []);
    for (const [id, lastSeenAt] of this.lastSeen) {
      if (current.has(id)) continue;
      if (now - lastSeenAt > this.silentForgetMs) this.lastSeen.delete(id);
      else silentInstances.push({ id, lastSeenAt });
    }
    let droppedAtSource = 0;
    for (const n of this.droppedAtSource.values()) droppedAtSource += n;
    return {
      at: now,
      prefix: this.subjects.prefix,
      nats: this.natsState,
      inspection: { ...this.counters, droppedAtSource },
      lastInspect: this.lastInspect,
      silentInstances,
    };
  }

  /** One tick: at most two `agg.inspect` in flight (each waits for the engines' deadline), results in order. */
  private poll(): void {
    if (this.inFlight >= 2) return;
    this.inFlight++;
    const ticket = ++this.requested;
    const startedAt = this.now();
    void this.inspect()
      .then((outcome) => {
        if (ticket < this.delivered || this.listeners.size === 0) return;
        this.delivered = ticket;
        const reply = outcome.kind === "error" ? undefined : outcome.reply;
        if (reply) {
          this.observe(reply, startedAt);
          this.latestReply = reply;
        }
        const stats = this.stats();
        for (const l of this.listeners) {
          notify(() => {
            if (reply) l.snapshot(reply);
            l.stats(stats);
          });
        }
      })
      .finally(() => {
        this.inFlight--;
      });
  }

  private settle(startedAt: number, outcome: InspectOutcome): InspectOutcome {
    const outcomeName =
      outcome.kind === "ok"
        ? outcome.via === "direct"
          ? "direct"
          : "ok"
        : outcome.kind === "none"
          ? outcome.reason
          : "error";
    this.lastInspect = {
      at: startedAt,
      tookMs: outcome.tookMs,
      outcome: outcomeName,
      ...(outcome.kind === "error" ? { message: outcome.body.error.message } : {}),
    };
    if (outcome.kind === "ok") {
      for (const i of outcome.reply.instances) {
        // Engines list instances that stayed silent with `answered: false`: those were not seen.
        if ((i as { answered?: unknown }).answered !== false) setBounded(this.lastSeen, i.id, startedAt);
      }
    }
    return outcome;
  }

  /**
   * Records state changes seen between two snapshots, for instances whose
   * inspection stream is silent (not wired, or its events dropped): the
   * history is then coarser, but never empty.
   */
  private observe(reply: InspectReply, requestedAt: number): void {
    const now = this.now();
    const streaming = (instance: string) =>
      now - (this.streaming.get(instance) ?? Number.NEGATIVE_INFINITY) < 10_000;
    const next = new Map<string, { instance: string; id: string; state: string }>();
    for (const actor of reply.actors) {
      const key = `${actor.instance}\u0000${actor.id}`;
      next.set(key, { instance: actor.instance, id: actor.id, state: actor.state });
      if (streaming(actor.instance)) continue;
      const last = this.timeline.last(actor.instance, actor.id);
      if (last && last.at >= requestedAt) continue; // the event stream was quicker than this snapshot
      if (!last || last.state !== actor.state || last.ended)
        this.timeline.add(actor.instance, actor.id, { at: now, state: actor.state, source: "observed" });
    }
    for (const [key, gone] of this.previous) {
      if (next.has(key) || streaming(gone.instance)) continue;
      const last = this.timeline.last(gone.instance, gone.id);
      if (last?.ended) continue;
      this.timeline.add(gone.instance, gone.id, {
        at: now,
        state: last?.state ?? gone.state,
        source: "observed",
        ended: true,
      });
    }
    this.previous = next;
  }

  private onInspectionMessage(data: Uint8Array): void {
    this.counters.messages++;
    const decoded = decodeInspectionMessage(data, this.now());
    this.counters.malformed += decoded.malformed;
    this.counters.events += decoded.events.length;
    if (decoded.instance !== undefined && decoded.droppedAtSource !== undefined)
      setBounded(this.droppedAtSource, decoded.instance, decoded.droppedAtSource);
    if (decoded.events.length === 0) return;
    for (const event of decoded.events) {
      const id = actorIdOf(event);
      setBounded(this.streaming, instanceOf(event), this.now());
      if (event.type === "actor.updated") {
        const e = event as typeof event & { event?: unknown; coalesced?: unknown };
        const folded = typeof e.coalesced === "number" && Number.isInteger(e.coalesced) && e.coalesced > 1;
        this.timeline.add(event.actor.instance, id, {
          at: event.at,
          state: event.actor.state,
          source: "event",
          ...(typeof e.event === "string" ? { event: e.event } : {}),
          ...(folded ? { count: e.coalesced as number } : {}),
        });
      } else {
        const e = event as typeof event & { event?: unknown; state?: unknown };
        const last = this.timeline.last(event.instance, id);
        this.timeline.add(event.instance, id, {
          at: event.at,
          state: typeof e.state === "string" ? e.state : (last?.state ?? ""),
          source: "event",
          ended: true,
          ...(typeof e.event === "string" ? { event: e.event } : {}),
        });
      }
    }
    const delivery: InspectionDelivery = { instance: decoded.instance, events: decoded.events };
    for (const l of this.listeners) notify(() => l.inspection(delivery));
  }
}

/** Per-instance bookkeeping stays bounded whatever instance names a publisher makes up. */
function setBounded<V>(map: Map<string, V>, key: string, value: V, max = 1_000): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) {
    const oldest = map.keys().next().value;
    if (oldest !== undefined) map.delete(oldest);
  }
}

/** One listener failing (a page gone mid-write) must not keep the others from their update. */
function notify(fn: () => void): void {
  try {
    fn();
  } catch {
    // that page's stream ends on its own close event
  }
}

function isNoResponders(err: unknown): boolean {
  if (err instanceof NoRespondersError) return true;
  if (err instanceof RequestError) return err.isNoResponders();
  return err instanceof Error && err.cause instanceof NoRespondersError;
}

function badGateway(message: string, tookMs: number): InspectOutcome {
  return { kind: "error", status: 502, body: { error: { code: "UNAVAILABLE", message } }, tookMs };
}
