/** The storage a line of ledgers shares: ids in the order they were added, and each id's position. */
interface LedgerStore {
  readonly order: string[];
  readonly position: Map<string, number>;
}

/**
 * An immutable set of user ids that grows by one id at a time, in O(1).
 *
 * The coordinator's context must stay immutable (snapshots are compared,
 * persisted and, in the model-based tests, branched from), yet copying a
 * `Set` of 100 000 ids on every report would make a batch quadratic. So
 * ledgers that descend from each other share one append-only store; a
 * ledger sees the first `size` ids of it. Adding to the newest ledger appends
 * in place; adding to an older one (a branch) copies its prefix first.
 *
 * @example
 * ```ts
 * const a = ReportLedger.empty().add("alice");
 * const b = a.add("bob");
 * a.has("bob"); // false
 * b.has("bob"); // true
 * ```
 */
export class ReportLedger {
  private constructor(
    private readonly store: LedgerStore,
    /** How many ids this ledger holds. */
    readonly size: number,
  ) {}

  static empty(): ReportLedger {
    return new ReportLedger({ order: [], position: new Map() }, 0);
  }

  static of(ids: Iterable<string>): ReportLedger {
    let ledger = ReportLedger.empty();
    for (const id of ids) ledger = ledger.add(id);
    return ledger;
  }

  has(id: string): boolean {
    const position = this.store.position.get(id);
    return position !== undefined && position < this.size;
  }

  /** This ledger plus `id` (this ledger itself when it already holds `id`). */
  add(id: string): ReportLedger {
    if (this.has(id)) return this;
    // Another ledger already appended past our end: branch off with our own copy.
    const store = this.store.order.length === this.size ? this.store : this.copyOfPrefix();
    store.position.set(id, this.size);
    store.order.push(id);
    return new ReportLedger(store, this.size + 1);
  }

  *[Symbol.iterator](): IterableIterator<string> {
    for (let i = 0; i < this.size; i++) yield this.store.order[i]!;
  }

  /** The ids, oldest first (a `Set` would serialise as `{}`). */
  toJSON(): string[] {
    return this.store.order.slice(0, this.size);
  }

  private copyOfPrefix(): LedgerStore {
    const order = this.store.order.slice(0, this.size);
    return { order, position: new Map(order.map((id, i) => [id, i])) };
  }
}
