/**
 * Which heartbeats the covering index holds, as SQL text: the predicate of its
 * partial index and of every query that reads through it. A module without
 * imports, so the durations query (`day-durations-sql.ts`) stays one piece of
 * text the benchmark can explain.
 *
 * Why a predicate at all: the index carries `entity` (a path or a URL of any
 * length) so that users with language mappings read their days from the index
 * alone, and a btree entry over about 2.7 kB would make Wakapi's heartbeat
 * insert fail. Rows whose indexed values add up to more than
 * {@link COVERING_ENTRY_MAX_BYTES} are left out of it and kept in a second,
 * nearly empty partial index of their own, so every query reads
 * `fits` rows `union all` `oversized` rows, and the two predicates are each
 * other's negation for every row (no value can make them null).
 *
 * PostgreSQL uses a partial index only where the query's WHERE implies the
 * index's predicate, so queries must use these exact expressions.
 * @internal
 */

/** At most this many bytes of values per covering-index entry (btree's limit is 2 704 per entry, headers included). */
export const COVERING_ENTRY_MAX_BYTES = 2400;

/** The bytes a row's indexed values take, never null; `h` is the table's alias with its dot, or "". */
function entryBytes(h: string): string {
  const bytes = (column: string) => `coalesce(octet_length(${h}${column}), 0)`;
  return ["user_id", "entity", "project", "language", "editor", "operating_system", "machine", "category"]
    .map(bytes)
    .join(" + ");
}

/** True for the rows the covering index holds (nearly all). */
export function fitsCoveringIndex(h = ""): string {
  return `(${entryBytes(h)}) <= ${COVERING_ENTRY_MAX_BYTES}`;
}

/** True for the rows it leaves out, which the oversized-rows index holds. */
export function oversizedForCoveringIndex(h = ""): string {
  return `(${entryBytes(h)}) > ${COVERING_ENTRY_MAX_BYTES}`;
}
