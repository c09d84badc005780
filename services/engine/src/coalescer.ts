/**
 * Group commit for many small requests: callers submit one item each and get
 * their own result, while the work runs for many items at once. Items wait
 * only while `maxInFlight` groups are already running; the next group then
 * takes everything that queued meanwhile (up to `maxGroup`). So an idle system
 * answers one request at once, and a busy one answers many per round trip:
 * the group size follows the load by itself, with no timer to tune.
 *
 * `run` answers each item of a group, in order, with a value or an error of
 * its own (one user fenced out fails that user's write, not the group's). If
 * `run` itself throws, every item of the group gets that error.
 *
 * @example
 * ```ts
 * const plans = new Coalescer((ids: string[]) => loadPlans(db, ids), { maxGroup: 64, maxInFlight: 2 });
 * const plan = await plans.submit("alice");
 * ```
 */
export class Coalescer<I, O> {
  private queued: Pending<I, O>[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly run: (items: I[]) => Promise<readonly (O | Error)[]>,
    private readonly opts: { readonly maxGroup: number; readonly maxInFlight: number },
  ) {
    if (!(opts.maxGroup >= 1 && opts.maxInFlight >= 1)) {
      throw new RangeError(
        `maxGroup and maxInFlight must be at least 1, got ${opts.maxGroup}, ${opts.maxInFlight}`,
      );
    }
  }

  /** Items waiting for a group (for metrics and tests). */
  get waiting(): number {
    return this.queued.length;
  }

  /** Queues one item; resolves with its own answer, or rejects with its own error (or its group's). */
  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queued.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.opts.maxInFlight || this.queued.length === 0) return;
    // One turn of the event loop: items submitted by the same burst of callbacks share a group.
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.inFlight < this.opts.maxInFlight && this.queued.length > 0) {
      const group = this.queued.splice(0, this.opts.maxGroup);
      this.inFlight++;
      void this.runGroup(group).finally(() => {
        this.inFlight--;
        this.schedule();
      });
    }
  }

  private async runGroup(group: Pending<I, O>[]): Promise<void> {
    let results: readonly (O | Error)[];
    try {
      results = await this.run(group.map((p) => p.item));
      if (results.length !== group.length) {
        throw new Error(`coalesced run answered ${results.length} of ${group.length} items`);
      }
    } catch (error) {
      for (const p of group) p.reject(error);
      return;
    }
    group.forEach((p, i) => {
      const result = results[i] as O | Error;
      if (result instanceof Error) p.reject(result);
      else p.resolve(result);
    });
  }
}

interface Pending<I, O> {
  readonly item: I;
  resolve(value: O): void;
  reject(error: unknown): void;
}
