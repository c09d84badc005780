import { sql } from "kysely";
import { type AnyKysely, columnsOf } from "./introspection";

/** One column of a Wakapi table, as the engine needs it. @internal */
export interface ColumnSpec {
  readonly name: string;
  /** SQL type, as Wakapi's ORM lays it out on PostgreSQL. */
  readonly type: string;
  readonly primaryKey?: boolean;
  readonly notNull?: boolean;
  /** `table.column` this column references (ON UPDATE/DELETE CASCADE, as Wakapi declares). */
  readonly references?: string;
  /** SQL default, only for tables the engine creates itself. */
  readonly defaultSql?: string;
}

/** A Wakapi table: its columns and the indexes Wakapi itself declares. @internal */
export interface TableSpec {
  readonly name: string;
  readonly columns: readonly ColumnSpec[];
  readonly indexes: readonly { name: string; columns: readonly string[]; unique?: boolean }[];
}

/**
 * Wakapi's core tables, limited to the columns of the contract (Wakapi's other
 * columns are its own business). Order matters: referenced tables first.
 * @internal
 */
export const WAKAPI_TABLES: readonly TableSpec[] = [
  {
    name: "users",
    columns: [
      { name: "id", type: "text", primaryKey: true },
      { name: "location", type: "text" },
      { name: "heartbeats_timeout_sec", type: "bigint", defaultSql: "600" },
      { name: "exclude_unknown_projects", type: "boolean" },
    ],
    indexes: [],
  },
  {
    name: "heartbeats",
    columns: [
      { name: "id", type: "bigserial", primaryKey: true },
      { name: "user_id", type: "text", notNull: true, references: "users.id" },
      { name: "entity", type: "text", notNull: true },
      { name: "type", type: "varchar(255)" },
      { name: "category", type: "varchar(255)" },
      { name: "project", type: "text" },
      { name: "branch", type: "text" },
      { name: "language", type: "text" },
      { name: "is_write", type: "boolean" },
      { name: "editor", type: "text" },
      { name: "operating_system", type: "text" },
      { name: "machine", type: "text" },
      { name: "ai_model", type: "text" },
      { name: "user_agent", type: "varchar(255)" },
      { name: "time", type: "timestamptz(3)", notNull: true },
      { name: "hash", type: "varchar(17)" },
      { name: "origin", type: "varchar(255)" },
      { name: "origin_id", type: "varchar(255)" },
      { name: "created_at", type: "timestamptz(3)", notNull: true, defaultSql: "now()" },
    ],
    indexes: [{ name: "idx_heartbeats_hash", columns: ["hash"], unique: true }],
  },
  {
    name: "language_mappings",
    columns: [
      { name: "id", type: "bigserial", primaryKey: true },
      { name: "user_id", type: "text", notNull: true, references: "users.id" },
      { name: "extension", type: "varchar(16)" },
      { name: "language", type: "varchar(64)" },
    ],
    indexes: [{ name: "idx_language_mapping_composite", columns: ["user_id", "extension"], unique: true }],
  },
  {
    name: "summaries",
    columns: [
      { name: "id", type: "bigserial", primaryKey: true },
      { name: "user_id", type: "text", notNull: true, references: "users.id" },
      { name: "from_time", type: "timestamptz", notNull: true },
      { name: "to_time", type: "timestamptz", notNull: true },
      { name: "num_heartbeats", type: "bigint" },
    ],
    indexes: [],
  },
  {
    name: "summary_items",
    columns: [
      { name: "id", type: "bigserial", primaryKey: true },
      { name: "summary_id", type: "bigint", references: "summaries.id" },
      { name: "type", type: "smallint" },
      { name: "key", type: "text" },
      { name: "total", type: "bigint" },
    ],
    indexes: [],
  },
];

/**
 * Creates a missing table as Wakapi would (with its constraints, our defaults
 * and Wakapi's own indexes), or adds to an existing one only the columns it
 * lacks, as plain nullable columns. An existing column is never touched: only
 * `add column if not exists`, and only when the catalog says it is missing (so
 * a complete Wakapi table is not even locked).
 * @internal
 * @returns the `table.column` names added to existing tables.
 */
export async function ensureWakapiTable(db: AnyKysely, table: TableSpec): Promise<string[]> {
  const existing = await columnsOf(db, table.name);
  if (existing.size === 0) {
    await createTable(db, table);
    return [];
  }
  const added: string[] = [];
  for (const column of table.columns) {
    if (existing.has(column.name) || column.primaryKey) continue;
    await sql`alter table ${sql.table(table.name)} add column if not exists ${sql.ref(column.name)} ${sql.raw(column.type)}`.execute(
      db,
    );
    added.push(`${table.name}.${column.name}`);
  }
  return added;
}

async function createTable(db: AnyKysely, table: TableSpec): Promise<void> {
  let builder = db.schema.createTable(table.name).ifNotExists();
  for (const column of table.columns) {
    builder = builder.addColumn(column.name, sql.raw(column.type), (col) => {
      let c = col;
      if (column.primaryKey) c = c.primaryKey();
      if (column.notNull) c = c.notNull();
      if (column.references) c = c.references(column.references).onUpdate("cascade").onDelete("cascade");
      if (column.defaultSql) c = c.defaultTo(sql.raw(column.defaultSql));
      return c;
    });
  }
  await builder.execute();
  for (const index of table.indexes) {
    let create = db.schema
      .createIndex(index.name)
      .ifNotExists()
      .on(table.name)
      .columns([...index.columns]);
    if (index.unique) create = create.unique();
    await create.execute();
  }
}
