import type { AnyActorRef, InspectionEvent, Subscription } from "xstate";

/**
 * `AGG_INSPECT`: when this instance's actors are inspected.
 * - `on`: while somebody inspects the cluster (an `agg.inspect` in the last
 *   `watchForMs`; the inspector and `agg inspect --watch` ask every second or
 *   faster), so an unwatched batch pays nothing for it;
 * - `always`: every actor from its creation (what Stately's inspector needs);
 * - `off`: never (`agg.inspect` still lists the actors, without last events).
 */
export type InspectMode = "on" | "always" | "off";

/** Options of {@link InspectionDemand}. */
export interface InspectionDemandOptions {
  readonly mode: InspectMode;
  /** Receives every inspection event of a watched actor (the publisher's `inspect`). */
  readonly observe: (event: InspectionEvent) => void;
  /** How long one `watch()` keeps inspection on (mode `on`). */
  readonly watchForMs: number;
  /** Told when watching ends, so what was kept for the watchers can go. */
  readonly onUnwatched?: () => void;
  /** The clock (tests inject one). Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * Attaches XState inspection to this instance's actors only while somebody
 * looks. Once an `inspect` observer is attached to an actor's system, XState
 * builds an event for every event, microstep, action and snapshot of it;
 * at a nightly batch's thousand one-day jobs that was about 9 % of the
 * engine's main thread (BENCHMARKS.md, stop 25), paid whether or not anyone
 * watched.
 *
 * Owners hand every actor they create to {@link adopt} before starting it and
 * {@link release} it when it is gone. {@link watch} (an `agg.inspect` arrived)
 * attaches the observer to every live actor, and to new ones as they come,
 * until `watchForMs` passes without another `watch`; then every attachment is
 * undone and `onUnwatched` runs. Each user actor is the root of its own
 * system, so attaching to `actor.system` watches exactly that actor and the
 * actors it invokes.
 *
 * @example
 * ```ts
 * const demand = new InspectionDemand({ mode: "on", observe: publisher.inspect, watchForMs: 60_000 });
 * const actor = createActor(machine, { id: "user:alice", input, ...demand.createOptions });
 * demand.adopt(actor);
 * actor.start();
 * // an agg.inspect arrives:
 * demand.watch();
 * ```
 */
export class InspectionDemand {
  /** Spread into `createActor`'s options: the observer from birth in mode `always`. */
  readonly createOptions: { readonly inspect?: (event: InspectionEvent) => void };
  /** Every adopted actor not yet released, with its observer's subscription while watched. */
  private readonly live = new Map<AnyActorRef, Subscription | undefined>();
  private readonly now: () => number;
  private watchedUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly opts: InspectionDemandOptions) {
    this.now = opts.now ?? Date.now;
    this.createOptions = opts.mode === "always" ? { inspect: opts.observe } : {};
  }

  /** True while new and live actors are inspected. */
  get watched(): boolean {
    if (this.opts.mode !== "on") return this.opts.mode === "always";
    return this.timer !== undefined;
  }

  /** Actors that would be inspected now (those `adopt`ed and not `release`d). */
  get liveActors(): number {
    return this.live.size;
  }

  /** A new actor, before `start()`: inspected at once while watched. */
  adopt(actor: AnyActorRef): void {
    if (this.opts.mode !== "on" || this.stopped) return;
    this.live.set(actor, this.timer === undefined ? undefined : this.attach(actor));
  }

  /**
   * The actor is gone (completed, failed or stopped). Its observer is not
   * detached: XState reports the final snapshot after the actor's observers
   * complete, and the publisher needs it; the actor's system goes with it.
   */
  release(actor: AnyActorRef): void {
    this.live.delete(actor);
  }

  /** Somebody inspects the cluster: inspect every actor for the next `watchForMs`. */
  watch(): void {
    if (this.opts.mode !== "on" || this.stopped) return;
    this.watchedUntil = this.now() + this.opts.watchForMs;
    if (this.timer !== undefined) return;
    for (const actor of this.live.keys()) this.live.set(actor, this.attach(actor));
    this.arm(this.opts.watchForMs);
  }

  /** Detaches from every actor; later calls do nothing. Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.unwatch();
    this.stopped = true;
    this.live.clear();
  }

  private attach(actor: AnyActorRef): Subscription {
    return actor.system.inspect(this.opts.observe);
  }

  /** One timer per watch, re-armed for what is left when `watch()` came again meanwhile. */
  private arm(ms: number): void {
    this.timer = setTimeout(() => {
      const left = this.watchedUntil - this.now();
      if (left > 0) this.arm(left);
      else this.unwatch();
    }, ms);
    this.timer.unref();
  }

  private unwatch(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const [actor, subscription] of this.live) {
      subscription?.unsubscribe();
      this.live.set(actor, undefined);
    }
    this.opts.onUnwatched?.();
  }
}

/** What an owner of actors needs of an {@link InspectionDemand}. */
export type ActorInspection = Pick<InspectionDemand, "createOptions" | "adopt" | "release">;
