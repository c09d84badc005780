/** One step of an actor's history as the page shows it. */
export interface TimelineEntry {
  /** Epoch milliseconds. */
  readonly at: number;
  /** The event the actor processed; absent when the change was only observed between two snapshots. */
  readonly event?: string;
  /** The state afterwards (dotted, as `agg.inspect` writes it). */
  readonly state: string;
  /** `event`: from the instance's inspection stream; `observed`: seen by comparing `agg.inspect` snapshots. */
  readonly source: "event" | "observed";
  /** Set on the last entry of an actor that stopped or vanished. */
  readonly ended?: boolean;
  /** How many same-state events the instance folded into this entry (`coalesced`), when more than one. */
  readonly count?: number;
}

/** Options of {@link TimelineStore}. */
export interface TimelineStoreOptions {
  /** Entries kept per actor. Default 60. */
  readonly perActor?: number;
  /** Actors remembered; the least recently changed are forgotten first. Default 5 000. */
  readonly maxActors?: number;
}

/**
 * The recent history of every actor the inspector has seen, bounded in both
 * directions (entries per actor, actors), keyed by instance and actor id: the
 * same user may have had an actor on two instances.
 */
export class TimelineStore {
  private readonly entries = new Map<string, TimelineEntry[]>();
  private readonly perActor: number;
  private readonly maxActors: number;

  constructor(options: TimelineStoreOptions = {}) {
    this.perActor = Math.max(1, options.perActor ?? 60);
    this.maxActors = Math.max(1, options.maxActors ?? 5_000);
  }

  /** Appends an entry to an actor's history. */
  add(instance: string, actorId: string, entry: TimelineEntry): void {
    const key = keyOf(instance, actorId);
    let list = this.entries.get(key);
    if (list) {
      // Re-inserted, so the map's order is least recently changed first.
      this.entries.delete(key);
    } else {
      list = [];
      while (this.entries.size >= this.maxActors) {
        const oldest = this.entries.keys().next().value;
        if (oldest === undefined) break;
        this.entries.delete(oldest);
      }
    }
    this.entries.set(key, list);
    list.push(entry);
    if (list.length > this.perActor) list.splice(0, list.length - this.perActor);
  }

  /** The actor's last entry, if any. */
  last(instance: string, actorId: string): TimelineEntry | undefined {
    return this.entries.get(keyOf(instance, actorId))?.at(-1);
  }

  /** The actor's history, oldest first (a copy). */
  get(instance: string, actorId: string): TimelineEntry[] {
    return [...(this.entries.get(keyOf(instance, actorId)) ?? [])];
  }

  /** Actors with a history. */
  get size(): number {
    return this.entries.size;
  }
}

function keyOf(instance: string, actorId: string): string {
  return `${instance}\u0000${actorId}`;
}
