/** Options of {@link IdleRewarm}. */
export interface IdleRewarmOptions {
  /** How long the instance must hold no job before the warm-up runs again; 0: never. */
  readonly idleMs: number;
  /** True while this instance holds a job (`UserActors.busy`). */
  readonly busy: () => boolean;
  /**
   * Runs the warm-up, asking `keepGoing` before each round of made-up jobs.
   * @returns the milliseconds it took.
   */
  readonly run: (keepGoing: () => boolean) => Promise<number>;
  /** Told how each warm-up went: its milliseconds, and whether it ran to its end. */
  readonly onDone?: (ms: number, finished: boolean) => void;
  readonly onError?: (error: unknown) => void;
}

/**
 * Runs the start-up warm-up again once the instance has done real work and
 * then been idle for `idleMs`: once per idle spell, never while a job is held
 * or a request is being accepted (`hold`), and stopping at its next round (a
 * few milliseconds) when either begins.
 *
 * Why: a batch leaves V8's state behind it. Code optimised for the warm-up's
 * objects meets real ones and is thrown away late in the batch ("wrong map"
 * in `--trace-deopt`), and the objects the batch promoted wait for a full
 * mark-compact. Both used to land on the next batch: its first minutes of
 * CPU went to recompiling XState's interpreter on the second core (beside
 * PostgreSQL) and to a major GC, and a nightly run after a full run was
 * about 20 % slower than the same nightly run repeated. Run again while idle,
 * the warm-up recompiles with the real feedback included, and its garbage
 * brings the major GC forward into the idle time (BENCHMARKS.md, stop 14).
 * A few hundred milliseconds of CPU per idle spell, when nothing else wants it.
 */
export class IdleRewarm {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Open holds (see `hold`). */
  private holds = 0;
  /**
   * A job settled, or an armed warm-up came due, while held: the idle spell
   * starts again when the last hold is released.
   */
  private dueWhileHeld = false;

  constructor(private readonly opts: IdleRewarmOptions) {}

  /** A job was settled: if that left the instance idle, the warm-up runs after `idleMs` more of it. */
  jobSettled(): void {
    if (this.holds > 0) this.dueWhileHeld = true;
    if (this.stopped || this.opts.idleMs <= 0 || this.busy()) return;
    // Re-armed by each settled job: the idle spell counts from the last one.
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.start(), this.opts.idleMs);
    this.timer.unref();
  }

  /**
   * Work that holds no job yet, such as a request being accepted (its triage,
   * its ledger rows, its first jobs published): until the returned release is
   * called, no warm-up starts and a running one gives way at its next round.
   * Without it, a request that came in during a warm-up's round waited for
   * that round and its garbage on the main thread (BENCHMARKS.md, stop 18).
   */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      if (this.holds === 0 && this.dueWhileHeld) {
        this.dueWhileHeld = false;
        this.jobSettled();
      }
    };
  }

  /** True while a warm-up runs. */
  get warming(): boolean {
    return this.running !== undefined;
  }

  /** No more warm-ups; waits for a running one to end its round. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private busy(): boolean {
    return this.holds > 0 || this.opts.busy();
  }

  private start(): void {
    this.timer = undefined;
    // Due during an acceptance that may bring no job (every user up to date):
    // the work before it still wants its warm-up, once the acceptance is over.
    if (this.holds > 0) this.dueWhileHeld = true;
    if (this.stopped || this.running || this.busy()) return;
    let gaveWay = false;
    const keepGoing = () => {
      gaveWay ||= this.stopped || this.busy();
      return !gaveWay;
    };
    this.running = this.opts
      .run(keepGoing)
      .then(
        (ms) => this.opts.onDone?.(ms, !gaveWay),
        (error: unknown) => this.opts.onError?.(error),
      )
      .finally(() => {
        this.running = undefined;
      });
  }
}
