/**
 * A mutex over PGlite's one session: `lock()` resolves once the session is
 * free and every earlier waiter of the same lane has had it. PGlite is a single
 * session, so the driver holds this for as long as Kysely holds the connection
 * (a query, or a whole transaction).
 *
 * Two lanes: `lock(true)` (urgent) goes before every ordinary waiter, FIFO
 * among the urgent ones. The engine's lease renewals take the urgent lane: on
 * a busy instance hundreds of user queries wait for the session, and a renewal
 * queued behind them would arrive after its lease expired.
 * @internal
 */
export class ConnectionMutex {
  #held = false;
  readonly #ordinary: (() => void)[] = [];
  readonly #urgent: (() => void)[] = [];

  lock(urgent = false): Promise<void> {
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => (urgent ? this.#urgent : this.#ordinary).push(resolve));
  }

  /** Hands the session to the next waiter (urgent first), or frees it. */
  unlock(): void {
    const next = this.#urgent.shift() ?? this.#ordinary.shift();
    if (next) next();
    else this.#held = false;
  }
}
