/**
 * Keys of the advisory locks the engine takes (two-int form:
 * a namespace, then a key), so they cannot collide with anyone else's.
 * @internal
 */
export const lockKey = {
  /** Namespace of per-user summary locks ("agg!" in ASCII); key: hashtext(user_id). */
  userSummaries: 0x61676721,
  /** Namespace of schema work ("agg\""); key `summaryIndex` guards the unique-index step. */
  namespace: 0x61676722,
  summaryIndex: 1,
  /** Key `heartbeatsIndex` guards the covering index's concurrent build. */
  heartbeatsIndex: 2,
} as const;
