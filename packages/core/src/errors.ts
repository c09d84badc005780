/**
 * The core's errors. Each is a named class with a stable `code`, so callers
 * branch on `code` (or `instanceof`) and never on message text.
 */

/**
 * A heartbeat was pushed that is not strictly after the previous one in
 * `(time, id)` order. The streaming reducer credits each heartbeat with the
 * gap to the next, so an unordered stream would silently produce wrong totals;
 * it fails instead. A repeated `(time, id)` is refused too: it means the same
 * row was read twice (e.g. overlapping pages), which would double-count it.
 */
export class OutOfOrderHeartbeatError extends Error {
  override readonly name = "OutOfOrderHeartbeatError";
  readonly code = "OUT_OF_ORDER";
  /** `(time, id)` of the heartbeat accepted before the offending one. */
  readonly previous: { readonly time: number; readonly id: number };
  /** `(time, id)` of the offending heartbeat. */
  readonly received: { readonly time: number; readonly id: number };

  constructor(
    previous: { readonly time: number; readonly id: number },
    received: { readonly time: number; readonly id: number },
  ) {
    super(
      `heartbeat (time ${received.time}, id ${received.id}) is not after the previous one ` +
        `(time ${previous.time}, id ${previous.id}); heartbeats must be ordered by (time, id)`,
    );
    this.previous = previous;
    this.received = received;
  }
}

/** A string that should be a `YYYY-MM-DD` calendar day is not one (or a result left years 0000-9999). */
export class InvalidDayError extends Error {
  override readonly name = "InvalidDayError";
  readonly code = "BAD_REQUEST";
  /** The offending value. */
  readonly value: unknown;

  constructor(value: unknown, reason = "is not a YYYY-MM-DD calendar day") {
    super(`${JSON.stringify(value)} ${reason}`);
    this.value = value;
  }
}

/** A day range whose `from` is after its `to`. */
export class InvalidDayRangeError extends Error {
  override readonly name = "InvalidDayRangeError";
  readonly code = "BAD_REQUEST";

  readonly from: string;
  readonly to: string;

  constructor(from: string, to: string) {
    super(`day range is inverted: from ${from} is after to ${to}`);
    this.from = from;
    this.to = to;
  }
}

/**
 * A time zone name the runtime's Intl does not know was given where an
 * already-resolved zone is required (use `resolveTimeZone` on user input first).
 */
export class InvalidTimeZoneError extends Error {
  override readonly name = "InvalidTimeZoneError";
  readonly code = "BAD_REQUEST";

  readonly timeZone: string;

  constructor(timeZone: string, options?: { cause?: unknown }) {
    super(`unknown time zone ${JSON.stringify(timeZone)}`, options);
    this.timeZone = timeZone;
  }
}

/** A day aggregator was used after `finish()`: every day of its range has already been emitted. */
export class AggregatorFinishedError extends Error {
  override readonly name = "AggregatorFinishedError";
  readonly code = "FINISHED";

  constructor() {
    super("the day aggregator is finished; create a new one for another range");
  }
}
