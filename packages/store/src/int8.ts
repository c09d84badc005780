/**
 * How both drivers read PostgreSQL `bigint` (int8): a JS number when it is a
 * safe integer (ids, counters, seconds), a `bigint` beyond 2^53 rather than a
 * silently rounded number.
 * @internal
 */
export function parseInt8(text: string): number | bigint {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : BigInt(text);
}

/** PostgreSQL's type oid of `bigint`. @internal */
export const INT8_OID = 20;
