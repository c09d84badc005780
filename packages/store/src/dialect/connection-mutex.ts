/**
 * A FIFO mutex: `lock()` resolves once every earlier holder has called
 * `unlock()`. PGlite is a single session, so the driver holds this for as long
 * as Kysely holds the connection (a query, or a whole transaction).
 * @internal
 */
export class ConnectionMutex {
  #tail: Promise<void> = Promise.resolve();
  #unlock: (() => void) | undefined;

  async lock(): Promise<void> {
    const previous = this.#tail;
    let unlock!: () => void;
    this.#tail = new Promise<void>((resolve) => {
      unlock = resolve;
    });
    await previous;
    this.#unlock = unlock;
  }

  unlock(): void {
    const unlock = this.#unlock;
    this.#unlock = undefined;
    unlock?.();
  }
}
