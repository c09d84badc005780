import { type Kysely, sql } from "kysely";

/**
 * A Kysely instance of any schema: migrations shape the database the typed
 * `Database` describes, so they cannot rely on it (Kysely's own migrations
 * take `Kysely<any>` for the same reason).
 * @internal
 */
// biome-ignore lint/suspicious/noExplicitAny: see above.
export type AnyKysely = Kysely<any>;

// Catalog questions the migrations ask, scoped to the current schema (where unqualified names resolve).

/** Whether `table` exists in the current schema. */
export async function tableExists(db: AnyKysely, table: string): Promise<boolean> {
  const { rows } = await sql<{ found: number }>`
    select 1 as found from information_schema.tables
    where table_schema = current_schema() and table_name = ${table}`.execute(db);
  return rows.length > 0;
}

/** The column names of `table` (empty when it does not exist). */
export async function columnsOf(db: AnyKysely, table: string): Promise<Set<string>> {
  const { rows } = await sql<{ column_name: string }>`
    select column_name from information_schema.columns
    where table_schema = current_schema() and table_name = ${table}`.execute(db);
  return new Set(rows.map((r) => r.column_name));
}

/** Whether an index (or any relation) named `name` exists in the current schema. */
export async function indexExists(db: AnyKysely, name: string): Promise<boolean> {
  const { rows } = await sql<{ found: number }>`
    select 1 as found from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = current_schema() and c.relname = ${name}`.execute(db);
  return rows.length > 0;
}

/**
 * Whether a valid, non-partial index of `table` starts with exactly `columns`
 * (in that order), so a range scan on them needs no new index.
 */
export async function hasIndexLeadingWith(
  db: AnyKysely,
  table: string,
  columns: readonly string[],
  options: { unique?: boolean } = {},
): Promise<boolean> {
  const { rows } = await sql<{ found: number }>`
    select 1 as found
    from pg_index i
    join pg_class t on t.oid = i.indrelid
    join pg_namespace n on n.oid = t.relnamespace
    where n.nspname = current_schema() and t.relname = ${table}
      and i.indisvalid and i.indpred is null
      and (${options.unique ?? false} = false or (i.indisunique and i.indnkeyatts = ${columns.length}))
      and (
        select string_agg(a.attname, ',' order by k.ord)
        from unnest(i.indkey::int2[]) with ordinality as k(attnum, ord)
        join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum
        where k.ord <= ${columns.length}
      ) = ${columns.join(",")}`.execute(db);
  return rows.length > 0;
}

/**
 * Whether the current role owns `table` (directly or through a role it belongs
 * to), as CREATE INDEX requires.
 */
export async function mayCreateIndexOn(db: AnyKysely, table: string): Promise<boolean> {
  const { rows } = await sql<{ owner: boolean }>`
    select pg_has_role(current_user, c.relowner, 'USAGE') as owner
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = current_schema() and c.relname = ${table}`.execute(db);
  return rows[0]?.owner ?? false;
}

/** Whether the index `name` of the current schema is missing, valid, or left invalid by a failed build. */
export async function indexState(db: AnyKysely, name: string): Promise<"missing" | "valid" | "invalid"> {
  const { rows } = await sql<{ valid: boolean }>`
    select i.indisvalid as valid
    from pg_index i join pg_class c on c.oid = i.indexrelid join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = current_schema() and c.relname = ${name}`.execute(db);
  const row = rows[0];
  return row === undefined ? "missing" : row.valid ? "valid" : "invalid";
}
