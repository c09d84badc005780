/**
 * Epoch ms of a `timestamptz` as a driver returns it (`Date` from both `pg` and
 * PGlite; a string or number only if a caller changed the parsers). This is
 * the one place where driver time becomes plain numbers.
 * @internal
 */
export function toEpochMs(value: Date | string | number): number {
  const ms = value instanceof Date ? value.getTime() : typeof value === "number" ? value : Date.parse(value);
  if (!Number.isFinite(ms)) throw new TypeError(`not a timestamp: ${String(value)}`);
  return ms;
}

/** A JS number out of an int8 column (which reads as `bigint` only beyond 2^53). @internal */
export function toNumber(value: number | bigint | string): number {
  return typeof value === "number" ? value : Number(value);
}
